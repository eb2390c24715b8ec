"""~/.seamless/clusters.yaml and clusters/*.yaml: parsing, merging and the
errors, which name the file, the cluster and the field (spec section 2)."""

from __future__ import annotations

import warnings

import pytest

import seamless.config
from seamless.config import ClusterDefinitionError, ConfigFileError, ConfigurationError
from seamless.config.clusters import read_cluster_files


def load():
    """The clusters of the test's ~/.seamless, validated."""
    return read_cluster_files().build()


def cluster_error(setup, text: str) -> str:
    """The message of the ClusterDefinitionError that clusters.yaml text
    raises; it names the file."""
    path = setup.write_clusters(text)
    with pytest.raises(ClusterDefinitionError) as info:
        load()
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert info.value.path == str(path)
    return message


FRONTEND = """\
  frontends:
    - hostname: login.example.org
      hashserver: {bufferdir: /b}
      database: {database_dir: /d}
"""


# -- the seed's cluster --------------------------------------------------------


def test_seed_cluster_parses(setup):
    hs, db = setup.write_seed_cluster()
    clusters = load()
    assert list(clusters) == ["local"]
    local = clusters["local"]
    assert local.type == "local" and local.source == str(setup.clusters_yaml)
    assert local.tunnel is False and local.workers is None and local.queues == {}
    assert local.designated_local is False  # no local_cluster: line
    (frontend,) = local.frontends
    assert frontend.hostname == "localhost"  # type: local may omit it
    assert frontend.ssh_hostname is None
    assert set(frontend.services) == {"hashserver", "database"}
    hashserver = frontend.services["hashserver"]
    assert hashserver.directory == str(setup.buffers)
    assert hashserver.conda == "hashserver"
    assert hashserver.network_interface == "127.0.0.1"
    assert hashserver.port_range == (hs, hs + 99)
    assert hashserver.layout == "prefix"
    database = frontend.services["database"]
    assert (database.directory, database.conda) == (str(setup.databases), "seamless-database")
    assert database.port_range == (db, db + 99)
    found = local.service("database")
    assert found is not None and found[1] is database
    assert local.service("jobserver") is None


def test_optional_fields_and_layout(setup):
    setup.write_clusters("""\
        c:
          frontends:
            - hostname: h1
              ssh_hostname: gateway
              hashserver: {bufferdir: /b, layout: flat}
        """)
    section = load()["c"].frontends[0].services["hashserver"]
    assert section.layout == "flat"
    assert section.port_range is None and section.conda is None and section.network_interface is None
    assert load()["c"].frontends[0].ssh_hostname == "gateway"
    message = cluster_error(setup, """\
        c:
          frontends:
            - hostname: h1
              hashserver: {bufferdir: /b, layout: sharded}
        """)
    assert "cluster 'c', frontends[0].hashserver.layout: expected 'prefix' or 'flat', got 'sharded'" in message


# -- empty files, top-level shape, malformed YAML --------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n# and another\n"])
def test_empty_or_comment_only_file_is_no_clusters(setup, text):
    setup.clusters_yaml.write_text(text)
    assert load() == {}
    # and through the public API: no cluster, the usual warnings, no crash
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert seamless.config.get_current().clusters == {}
    messages = [str(w.message) for w in caught]
    assert any("No cluster defined; running without persistence" in m for m in messages), messages


def test_missing_config_dir_is_no_clusters(setup):
    setup.clusters_yaml.parent.rmdir()
    assert load() == {}


def test_top_level_list_is_an_error_naming_the_file(setup):
    path = setup.write_clusters("- local\n- other\n")
    with pytest.raises(ConfigFileError) as info:
        load()
    assert str(info.value) == f"{path}: expected a mapping of cluster names to definitions, got a list"
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConfigurationError)
    assert isinstance(info.value, RuntimeError)


def test_malformed_yaml_names_file_and_line(setup):
    path = setup.write_clusters("""\
        c:
          frontends:
            - hostname: h1
              hashserver: {bufferdir: /b}
             database: [
        """)
    with pytest.raises(ConfigFileError) as info:
        load()
    assert str(info.value).startswith(f"{path}:5: invalid YAML: ")
    assert info.value.line == 5 and info.value.path == str(path)


def test_malformed_yaml_in_clusters_dir_names_that_file(setup):
    setup.write_seed_cluster()
    extra = setup.clusters_yaml.parent / "clusters" / "broken.yaml"
    extra.parent.mkdir()
    extra.write_text("a: 1\nb: [unclosed\n")
    with pytest.raises(ConfigFileError, match=rf"^{extra}:\d+: invalid YAML"):
        load()


def test_non_mapping_cluster_definition(setup):
    message = cluster_error(setup, "c: [1, 2]\n")
    assert "cluster 'c': expected a mapping, got a list" in message
    message = cluster_error(setup, "c:\n")
    assert "cluster 'c': expected a mapping, got nothing" in message


def test_forbidden_characters_in_cluster_names(setup):
    message = cluster_error(setup, "a--b:\n" + FRONTEND)
    assert "cluster name cannot contain '--'" in message


# -- unknown, missing and mistyped fields --------------------------------------


@pytest.mark.parametrize("text, where, key", [
    ("c:\n  colour: red\n" + FRONTEND, "cluster 'c': ", "colour"),
    ("c:\n  frontends:\n    - hostname: h\n      ssh: gw\n      hashserver: {bufferdir: /b}\n",
     "cluster 'c', frontends[0]: ", "ssh"),
    ("c:\n  frontends:\n    - hostname: h\n      hashserver: {bufferdir: /b, pure_dask: true}\n",
     "cluster 'c', frontends[0].hashserver: ", "pure_dask"),
    ("c:\n  frontends:\n    - hostname: h\n      database: {database_dir: /d, bufferdir: /b}\n",
     "cluster 'c', frontends[0].database: ", "bufferdir"),
    ("c:\n  frontends:\n    - hostname: h\n"
     "      daskserver: {network_interface: lo, port_start: 1, port_end: 2, conda: x}\n",
     "cluster 'c', frontends[0].daskserver: ", "conda"),
])
def test_unknown_keys(setup, text, where, key):
    message = cluster_error(setup, text)
    assert f"{where}unknown field {key!r} (known fields: " in message


def test_unknown_key_is_also_a_type_error(setup):
    setup.write_clusters("c:\n  colour: red\n" + FRONTEND)
    with pytest.raises(TypeError, match="unknown field 'colour'"):
        load()


@pytest.mark.parametrize("text, where, key", [
    ("c:\n  frontends:\n    - hostname: h\n      hashserver: {conda: hs}\n",
     "cluster 'c', frontends[0].hashserver", "bufferdir"),
    ("c:\n  frontends:\n    - hostname: h\n      database: {port_start: 1, port_end: 2}\n",
     "cluster 'c', frontends[0].database", "database_dir"),
    ("c:\n  type: slurm\n  workers: 3\n", "cluster 'c'", "frontends"),
    ("c:\n  frontends:\n    - hostname: h\n      jobserver: {port_start: 1, port_end: 2}\n",
     "cluster 'c', frontends[0].jobserver", "network_interface"),
])
def test_missing_required_fields(setup, text, where, key):
    message = cluster_error(setup, text)
    assert f"{where}: the field {key!r} is required" in message


def test_jobserver_conda_is_optional(setup):
    setup.write_clusters("""\
        c:
          frontends:
            - hostname: h
              jobserver: {network_interface: 0.0.0.0, port_start: 100, port_end: 200}
        """)
    section = load()["c"].frontends[0].services["jobserver"]
    assert section.conda is None and section.port_range == (100, 200)


def test_empty_frontends(setup):
    message = cluster_error(setup, "c:\n  frontends: []\n")
    assert "cluster 'c', frontends: expected a non-empty list of frontends" in message


def test_wrong_type(setup):
    message = cluster_error(setup, """\
        c:
          frontends:
            - hostname: h
              hashserver: {bufferdir: /b, port_start: "abc", port_end: 5}
        """)
    assert "cluster 'c', frontends[0].hashserver.port_start: expected a port number, got a string 'abc'" in message
    message = cluster_error(setup, "c:\n  workers: many\n" + FRONTEND)
    assert "cluster 'c', workers: expected a positive integer, got a string 'many'" in message
    message = cluster_error(setup, "c:\n  tunnel: 1\n" + FRONTEND)
    assert "cluster 'c', tunnel: expected true or false, got int 1" in message


def test_bool_is_not_a_port(setup):
    message = cluster_error(setup, """\
        c:
          frontends:
            - hostname: h
              database: {database_dir: /d, port_start: true, port_end: 5}
        """)
    assert "frontends[0].database.port_start: expected a port number, got bool True" in message


@pytest.mark.parametrize("ports", ["port_start: 100", "port_end: 100"])
def test_only_one_of_port_start_port_end(setup, ports):
    message = cluster_error(setup, f"""\
        c:
          frontends:
            - hostname: h
              database: {{database_dir: /d, {ports}}}
        """)
    assert ("cluster 'c', frontends[0].database: 'port_start' and 'port_end' must both be set or both be "
            "omitted") in message


def test_port_start_greater_than_port_end(setup):
    message = cluster_error(setup, """\
        c:
          frontends:
            - hostname: h
              hashserver: {bufferdir: /b, port_start: 200, port_end: 100}
        """)
    assert "cluster 'c', frontends[0].hashserver: port_start (200) is greater than port_end (100)" in message
    message = cluster_error(setup, """\
        c:
          frontends:
            - hostname: h
              hashserver: {bufferdir: /b, port_start: 0, port_end: 100}
        """)
    assert "frontends[0].hashserver.port_start: 0 is not a port number (1-65535)" in message


def test_bad_type(setup):
    message = cluster_error(setup, "c:\n  type: pbs\n" + FRONTEND)
    assert "cluster 'c', type: expected one of: local, slurm, oar, got 'pbs'" in message


@pytest.mark.parametrize("cluster_type", ["slurm", "oar", None])
def test_hostname_required_unless_type_local(setup, cluster_type):
    type_line = f"  type: {cluster_type}\n" if cluster_type else ""
    message = cluster_error(setup, f"c:\n{type_line}  frontends:\n    - hashserver: {{bufferdir: /b}}\n")
    assert "cluster 'c', frontends[0]: the field 'hostname' is required" in message
    assert "type: local" in message


def test_second_frontend_is_named_by_index(setup):
    message = cluster_error(setup, """\
        c:
          type: local
          frontends:
            - hashserver: {bufferdir: /b}
            - database: {database_dir: /d, port_start: x, port_end: 2}
        """)
    assert "cluster 'c', frontends[1].database.port_start: expected a port number" in message


# -- local_cluster ---------------------------------------------------------------


def test_local_cluster_names_a_missing_cluster(setup):
    setup.write_seed_cluster(extra="local_cluster: laptop\n")
    with pytest.raises(ClusterDefinitionError) as info:
        load()
    assert str(info.value) == (f"{setup.clusters_yaml}: 'local_cluster' names 'laptop', which is not defined "
                               "(defined clusters: local)")


def test_local_cluster_must_be_a_string(setup):
    setup.write_seed_cluster(extra="local_cluster: [local]\n")
    with pytest.raises(ClusterDefinitionError, match="'local_cluster' must be the name of a cluster"):
        load()


def test_local_cluster_designates_a_cluster_of_another_file(setup):
    setup.write_clusters("local_cluster: laptop\n")
    extra = setup.clusters_yaml.parent / "clusters" / "laptop.yaml"
    extra.parent.mkdir()
    extra.write_text("laptop:\n  type: local\n  workers: 2\n  frontends:\n    - hashserver: {bufferdir: /b}\n")
    files = read_cluster_files()
    assert files.local_cluster == "laptop"
    clusters = files.build()
    assert clusters["laptop"].designated_local and clusters["laptop"].source == str(extra)


# -- queues ------------------------------------------------------------------------


QUEUE_CLUSTER = """\
    hpc:
      type: slurm
      frontends:
        - hostname: login.hpc.example.org
          daskserver: {network_interface: 0.0.0.0, port_start: 60300, port_end: 60399}
      default_queue: cpu
      queues:
"""


def write_queues(setup, queues: str, cluster: str = QUEUE_CLUSTER):
    import textwrap

    setup.write_clusters(textwrap.dedent(cluster) + textwrap.indent(textwrap.dedent(queues), "    "))


def test_queues_template_hyphens_and_defaults(setup):
    write_queues(setup, """\
        cpu: {conda: seamless-dask, walltime: "02:00:00", cores: 16, memory: 64000MB, maximum_jobs: 10,
              unknown-task-duration: 1m, lifetime_stagger: 2m}
        gpu: {TEMPLATE: cpu, cores: 8, job-extra-directives: ["--gres=gpu:1"], dask_resources: {GPU: 1},
              memory: null, job_script_prologue: ["module load cuda"]}
        """)
    cluster = load()["hpc"]
    assert cluster.default_queue == "cpu" and list(cluster.queues) == ["cpu", "gpu"]
    cpu, gpu = cluster.queues["cpu"], cluster.queues["gpu"]
    assert (cpu.name, gpu.name) == ("cpu", "gpu")
    assert cpu.fields["unknown_task_duration"] == "1m" and "unknown-task-duration" not in cpu.fields
    assert cpu.fields["lifetime_stagger"] == "2m"
    assert cpu.fields["interactive"] is False and cpu.fields["exclusive"] is False
    # inherited from the template, overridden, or cleared with an explicit null
    assert gpu.fields["conda"] == "seamless-dask" and gpu.fields["walltime"] == "02:00:00"
    assert gpu.fields["maximum_jobs"] == 10 and gpu.fields["lifetime_stagger"] == "2m"
    assert gpu.fields["cores"] == 8 and cpu.fields["cores"] == 16
    assert gpu.fields["memory"] is None and cpu.fields["memory"] == "64000MB"
    assert gpu.fields["job_extra_directives"] == ["--gres=gpu:1"]
    assert gpu.fields["dask_resources"] == {"GPU": 1}
    assert gpu.fields["job_script_prologue"] == ["module load cuda"]
    assert "TEMPLATE" not in gpu.fields and "job_extra_directives" not in cpu.fields


def test_queue_defaults_are_applied(setup):
    write_queues(setup, "cpu: {cores: 4}\n")
    fields = load()["hpc"].queues["cpu"].fields
    assert fields["lifetime_stagger"] == "4m"
    assert fields["interactive"] is False and fields["exclusive"] is False


def test_local_queue_cores_default_to_workers(setup):
    setup.write_clusters("""\
        box:
          type: local
          workers: 6
          frontends:
            - daskserver: {network_interface: 127.0.0.1, port_start: 1000, port_end: 1099}
          queues:
            q: {walltime: "1:00:00"}
            r: {cores: 2}
        """)
    queues = load()["box"].queues
    assert queues["q"].fields["cores"] == 6 and queues["r"].fields["cores"] == 2


def test_unknown_template(setup):
    write_queues(setup, "gpu: {TEMPLATE: cpu, cores: 8}\ncpu: {cores: 16}\n")
    with pytest.raises(ClusterDefinitionError) as info:
        load()
    assert str(info.value) == (f"{setup.clusters_yaml}: cluster 'hpc', queues.gpu.TEMPLATE: unknown queue 'cpu' "
                               "(a template must be defined earlier in the same cluster)")


def test_unknown_queue_key(setup):
    write_queues(setup, "cpu: {cores: 16, gpus: 2}\n")
    with pytest.raises(ClusterDefinitionError, match=r"cluster 'hpc', queues\.cpu: unknown field 'gpus'"):
        load()


def test_queue_field_types(setup):
    write_queues(setup, "cpu: {cores: sixteen}\n")
    with pytest.raises(ClusterDefinitionError,
                       match=r"cluster 'hpc', queues\.cpu\.cores: expected an integer, got a string 'sixteen'"):
        load()
    write_queues(setup, "cpu: {cores: 2, exclusive: 'yes'}\n")
    with pytest.raises(ClusterDefinitionError, match=r"queues\.cpu\.exclusive: expected true or false"):
        load()


def test_queues_must_be_a_mapping(setup):
    message = cluster_error(setup, "c:\n  queues: [cpu]\n" + FRONTEND)
    assert "cluster 'c', queues: expected a mapping, got a list" in message


def test_exclusive_rules(setup):
    write_queues(setup, "cpu: {exclusive: true, cores: 16, job_cores: 4}\n")
    with pytest.raises(ClusterDefinitionError,
                       match=r"queues\.cpu: 'job_cores' must not be set in exclusive mode"):
        load()
    # exclusive without cores is fine on slurm (the whole node) ...
    write_queues(setup, "cpu: {exclusive: true}\n")
    assert load()["hpc"].queues["cpu"].fields["exclusive"] is True
    # ... but not without exclusive
    write_queues(setup, "cpu: {walltime: '1:00:00'}\n")
    with pytest.raises(ClusterDefinitionError,
                       match=r"queues\.cpu: 'cores' is required when 'exclusive' is not set"):
        load()
    # an untyped cluster counts as non-local
    write_queues(setup, "cpu: {walltime: '1:00:00'}\n", cluster=QUEUE_CLUSTER.replace("type: slurm", "tunnel: false"))
    with pytest.raises(ClusterDefinitionError, match="'cores' is required when 'exclusive' is not set"):
        load()
    # a local cluster needs no cores unless exclusive
    local = QUEUE_CLUSTER.replace("type: slurm", "type: local")
    write_queues(setup, "cpu: {walltime: '1:00:00'}\n", cluster=local)
    assert load()["hpc"].queues["cpu"].fields.get("cores") is None
    write_queues(setup, "cpu: {exclusive: true}\n", cluster=local)
    with pytest.raises(ClusterDefinitionError,
                       match=r"queues\.cpu: 'cores' is required for local cluster exclusive mode"):
        load()


def test_exclusive_is_checked_after_templating(setup):
    write_queues(setup, "cpu: {cores: 16, job_cores: 4}\nwhole: {TEMPLATE: cpu, exclusive: true}\n")
    with pytest.raises(ClusterDefinitionError,
                       match=r"queues\.whole: 'job_cores' must not be set in exclusive mode"):
        load()
    write_queues(setup, "cpu: {cores: 16, job_cores: 4}\nwhole: {TEMPLATE: cpu, exclusive: true, job_cores: null}\n")
    assert load()["hpc"].queues["whole"].fields["job_cores"] is None


def test_default_queue_must_exist(setup):
    write_queues(setup, "gpu: {cores: 8}\n")
    with pytest.raises(ClusterDefinitionError, match=r"cluster 'hpc', default_queue: no queue 'cpu' in 'queues'"):
        load()


# -- merging ------------------------------------------------------------------------


def test_clusters_dir_merged_after_clusters_yaml(setup):
    setup.write_clusters("""\
        shared:
          type: local
          tunnel: true
          workers: 2
          frontends:
            - hashserver: {bufferdir: /from/main}
        mainonly:
          type: local
          frontends:
            - hashserver: {bufferdir: /m}
        """)
    folder = setup.clusters_yaml.parent / "clusters"
    folder.mkdir()
    (folder / "b.yaml").write_text("shared:\n  type: local\n  frontends:\n    - database: {database_dir: /from/b}\n")
    (folder / "a.yaml").write_text("shared:\n  type: local\n  frontends:\n    - hashserver: {bufferdir: /from/a}\n"
                                   "extra:\n  type: local\n  frontends:\n    - hashserver: {bufferdir: /x}\n")
    (folder / "notyaml.txt").write_text("this: [is not read\n")
    clusters = load()
    assert set(clusters) == {"shared", "mainonly", "extra"}
    shared = clusters["shared"]
    # the last file (sorted: b.yaml after a.yaml) replaces the whole definition
    assert shared.source == str(folder / "b.yaml")
    assert set(shared.frontends[0].services) == {"database"}
    assert shared.tunnel is False and shared.workers is None
    assert clusters["mainonly"].source == str(setup.clusters_yaml)
    assert clusters["extra"].source == str(folder / "a.yaml")


def test_clusters_dir_without_clusters_yaml(setup):
    folder = setup.clusters_yaml.parent / "clusters"
    folder.mkdir()
    (folder / "only.yaml").write_text("solo:\n  type: local\n  frontends:\n    - hashserver: {bufferdir: /s}\n")
    (folder / "empty.yaml").write_text("# nothing yet\n")
    assert list(load()) == ["solo"]


def test_error_in_clusters_dir_names_that_file(setup):
    setup.write_seed_cluster()
    folder = setup.clusters_yaml.parent / "clusters"
    folder.mkdir()
    (folder / "hpc.yaml").write_text("hpc:\n  type: slurm\n  frontends:\n    - hashserver: {bufferdir: /b}\n")
    with pytest.raises(ClusterDefinitionError) as info:
        load()
    assert str(info.value).startswith(f"{folder / 'hpc.yaml'}: cluster 'hpc', frontends[0]: the field 'hostname'")


def test_seamless_config_dir_replaces_home(setup, monkeypatch):
    other = setup.root / "elsewhere"
    other.mkdir()
    (other / "clusters.yaml").write_text("o:\n  type: local\n  frontends:\n    - hashserver: {bufferdir: /o}\n")
    setup.write_seed_cluster()
    monkeypatch.setenv("SEAMLESS_CONFIG_DIR", str(other))
    assert list(load()) == ["o"]


# -- through the public API -----------------------------------------------------------


def test_cluster_errors_surface_through_get_current(setup):
    setup.write_clusters("local:\n  type: local\n  frontends:\n    - hashserver: {bufferdir: /b, colour: red}\n")
    setup.write_seed_project()
    with pytest.raises(ConfigurationError) as info:
        seamless.config.get_current()
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"{setup.clusters_yaml}: cluster 'local', frontends[0].hashserver: "
                                      "unknown field 'colour'")


def test_invalid_clusters_are_rejected_even_when_not_selected(setup):
    # validation happens at load time for every defined cluster
    setup.write_clusters("""\
        good:
          type: local
          frontends:
            - hashserver: {bufferdir: /b}
        bad:
          frontends:
            - hashserver: {bufferdir: /b}
        """)
    setup.write("seamless.yaml", "- cluster: good\n- execution: process\n")
    with pytest.raises(ClusterDefinitionError, match="cluster 'bad', frontends\\[0\\]: the field 'hostname'"):
        seamless.config.get_current()
