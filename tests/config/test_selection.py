"""Evaluation, defaults and the post-load warnings and errors, through the
public API (the reference's seamless-config tests, spec section 8, and the
fixes of sections 9 and 10). get_current() loads the files without starting
any service."""

from __future__ import annotations

import os
import warnings

import pytest

import seamless.config
from seamless.config import ConfigFileError, ConfigurationError
from seamless.config.session import SESSION

FALLS_BACK = "No 'execution' command found; Seamless falls back to 'process'"
DEFAULTS_TO_REMOTE = "No 'execution' command found; Seamless defaults to 'remote' because a cluster is defined"
NO_CLUSTER = ("No cluster defined; running without persistence (define a cluster when using "
              "'execution: remote')")


def load():
    """get_current(), and the messages of the warnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = seamless.config.get_current()
    return config, [str(w.message) for w in caught]


def quiet(function, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args)


def load_error(kind=ConfigurationError):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(kind) as info:
            seamless.config.get_current()
    return info.value


def demo_cluster(jobserver=False, daskserver=True, split=False, queues=True, name="demo"):
    """The reference tests' cluster 'demo' (a frontend without storage)."""
    services = {}
    if jobserver:
        services["jobserver"] = "jobserver: {conda: test, network_interface: lo, port_start: 3000, port_end: 3010}"
    if daskserver:
        services["daskserver"] = "daskserver: {network_interface: lo, port_start: 3100, port_end: 3110}"
    if split:
        frontends = "\n".join(f"    - hostname: frontend{i}\n      {line}" for i, line in enumerate(services.values()))
    else:
        frontends = "    - hostname: frontend\n" + "".join(f"      {line}\n" for line in services.values())
        frontends = frontends.rstrip("\n")
    text = f"{name}:\n  type: local\n  workers: 1\n  frontends:\n{frontends}\n"
    if queues:
        text += ("  default_queue: default\n"
                 "  queues:\n"
                 "    default: {conda: base, walltime: \"00:10:00\", cores: 1, memory: 1GiB}\n"
                 "    gpu: {TEMPLATE: default, conda: gpu, cores: 2, memory: 2GiB, walltime: \"00:20:00\"}\n")
    return text


# -- execution and persistence defaults ---------------------------------------------


def test_execution_defaults_to_process(setup):
    config, messages = load()
    assert config.execution == "process" and quiet(seamless.config.get_execution) == "process"
    assert any("falls back to 'process'" in m for m in messages), messages
    assert any("No cluster defined; running without persistence" in m for m in messages), messages
    assert messages == [FALLS_BACK, NO_CLUSTER]
    assert config.cluster is None and config.persistent is False and config.execution_given is False


def test_execution_defaults_to_remote_when_cluster_selected(setup):
    setup.write_clusters(demo_cluster(jobserver=True, daskserver=False, queues=False))
    setup.write("seamless.yaml", "- cluster: demo\n- project: demo\n")
    config, messages = load()
    assert config.execution == "remote" and config.remote == "jobserver"
    assert messages == [DEFAULTS_TO_REMOTE]


def test_default_remote_without_backend_is_an_error(setup):
    # the seed's storage-only cluster, without 'execution: process'
    setup.write_seed_cluster()
    setup.write_seed_project(execution=None)
    error = load_error()
    message = str(error)
    assert "execution: process" in message
    assert message == ("Execution is 'remote' (is the default when a cluster is selected), but cluster 'local' "
                       "has no jobserver or daskserver to run transformations on; add '- execution: process' "
                       "(or spawn) to seamless.yaml or seamless.profile.yaml")
    # the same cluster selected in code
    seamless.config.reset()
    setup.write("seamless.yaml", "- project: p\n")
    setup.write("seamless.profile.yaml", "[]\n")
    seamless.config.select_cluster("local")
    assert "add '- execution: process'" in str(load_error())


def test_explicit_remote_without_backend_is_an_error(setup):
    setup.write_seed_cluster()
    setup.write_seed_project(execution="remote")
    message = str(load_error())
    assert message == ("Execution is 'remote' (was selected), but cluster 'local' has no jobserver or daskserver "
                       "to run transformations on; use 'execution: process' or 'execution: spawn'")


def test_persistent_defaults_false_without_cluster(setup):
    setup.write("seamless.yaml", "- execution: process\n")
    config, messages = load()
    assert config.persistent is False and quiet(seamless.config.get_persistent) is False
    assert messages == [NO_CLUSTER]


def test_persistent_defaults_true_with_cluster(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    config, messages = load()
    assert config.cluster_name == "local" and config.persistent is True
    assert quiet(seamless.config.get_persistent) is True
    assert messages == []


def test_persistent_command_overrides_default(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    setup.write("seamless.yaml", "- project: my-project\n- execution: process\n- persistent: false\n")
    config, messages = load()
    assert config.cluster_name == "local" and config.persistent is False
    assert not any("No cluster defined" in m for m in messages) and messages == []


def test_persistent_false_without_cluster_is_silent(setup):
    setup.write("seamless.yaml", "- execution: spawn\n- persistent: false\n")
    config, messages = load()
    assert config.persistent is False and messages == []


def test_record_defaults_false(setup):
    setup.write("seamless.yaml", "- execution: process\n")
    config, _ = load()
    assert config.record is False and quiet(seamless.config.get_record) is False


def test_record_command_sets_strict_mode(setup):
    setup.write("seamless.yaml", "- execution: process\n- record: true\n")
    assert quiet(seamless.config.get_record) is True
    seamless.config.reset()
    setup.write("seamless.yaml", "- record: true\n- execution: process\n- record: false\n")
    assert quiet(seamless.config.get_record) is False


def test_explicit_persistent_true_without_cluster_errors(setup):
    setup.write("seamless.yaml", "- execution: process\n- persistent: true\n")
    error = load_error()
    assert str(error) == "Persistence was explicitly enabled but no cluster was defined"
    seamless.config.reset()
    setup.write("seamless.yaml", "- execution: process\n")
    seamless.config.select_persistent(True)
    assert str(load_error()) == "Persistence was explicitly enabled but no cluster was defined"


def test_remote_execution_requires_cluster(setup):
    setup.write("seamless.yaml", "- execution: remote\n- project: demo\n")
    error = load_error()
    assert str(error) == "Execution is 'remote' but no cluster was defined"
    assert not isinstance(error, ConfigFileError)


def test_spawn_without_cluster_warns_about_persistence_only(setup):
    setup.write("seamless.yaml", "- execution: spawn\n")
    config, messages = load()
    assert config.execution == "spawn" and messages == [NO_CLUSTER]


# -- queues -------------------------------------------------------------------------------


def test_queue_command_selects_existing_queue(setup):
    setup.write_clusters(demo_cluster())
    setup.write("seamless.yaml", "- cluster: demo\n- remote: daskserver\n- queue: gpu\n- project: demo\n")
    config, messages = load()
    assert config.queue == "gpu" and quiet(seamless.config.get_queue) == "gpu"
    assert config.remote == "daskserver" and config.execution == "remote"
    assert config.cluster.queues["gpu"].fields["walltime"] == "00:20:00"
    assert messages == [DEFAULTS_TO_REMOTE]


def test_default_queue_without_queue_command(setup):
    setup.write_clusters(demo_cluster())
    setup.write("seamless.yaml", "- cluster: demo\n- execution: process\n")
    config, _ = load()
    assert config.queue is None and quiet(seamless.config.get_queue) == "default"


def test_queue_is_dropped_when_the_cluster_changes(setup):
    setup.write_clusters(demo_cluster() + demo_cluster(name="other", queues=False))
    setup.write("seamless.yaml", "- execution: process\n- cluster: demo\n- queue: gpu\n- cluster: other\n")
    assert quiet(seamless.config.get_queue) is None
    seamless.config.reset()
    setup.write("seamless.yaml", "- execution: process\n- cluster: demo\n- queue: gpu\n- cluster: other\n"
                                 "- cluster: demo\n")
    assert quiet(seamless.config.get_queue) == "default"  # must be repeated after a cluster change
    seamless.config.reset()
    setup.write("seamless.yaml", "- execution: process\n- cluster: demo\n- queue: gpu\n- cluster: demo\n")
    assert quiet(seamless.config.get_queue) == "gpu"  # the same cluster again: kept


def test_queue_command_requires_known_queue(setup):
    setup.write_clusters(demo_cluster())
    path = setup.write("seamless.yaml", "- cluster: demo\n- queue: missing\n- project: demo\n")
    error = load_error(ConfigFileError)
    assert isinstance(error, ValueError)
    assert str(error) == f"{path}:2: 'queue': cluster 'demo' has no queue 'missing' (its queues: default, gpu)"


def test_queue_command_requires_queue_definitions(setup):
    setup.write_clusters(demo_cluster(queues=False))
    path = setup.write("seamless.yaml", "- cluster: demo\n- queue: default\n- project: demo\n")
    assert str(load_error(ConfigFileError)) == f"{path}:2: 'queue': cluster 'demo' has no queues"


def test_queue_before_cluster(setup):
    setup.write_clusters(demo_cluster())
    setup.write("seamless.yaml", "- project: demo\n")
    path = setup.write("seamless.profile.yaml", "- queue: gpu\n- cluster: demo\n")
    assert str(load_error(ConfigFileError)) == (f"{path}:1: 'queue': cannot select a queue without selecting a "
                                                "cluster first")


def test_queue_of_an_undefined_cluster(setup):
    setup.write_clusters(demo_cluster())
    path = setup.write("seamless.yaml", "- cluster: nope\n- queue: gpu\n")
    assert str(load_error(ConfigFileError)) == f"{path}:2: 'queue': unknown cluster 'nope'"


def test_select_queue_in_code(setup):
    setup.write_clusters(demo_cluster())
    setup.write("seamless.yaml", "- cluster: demo\n- execution: process\n- queue: default\n")
    seamless.config.select_queue("gpu")
    assert quiet(seamless.config.get_queue) == "gpu"
    seamless.config.select_queue("missing")
    assert "cluster 'demo' has no queue 'missing'" in str(load_error(ConfigFileError))


# -- remote ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("jobserver", "jobserver"), ("daskserver", "daskserver"),
                                             ("null", None)])
def test_remote_command_accepts_allowed_values(setup, value, expected):
    setup.write("seamless.yaml", f"- remote: {value}\n- project: demo\n")
    config, _ = load()
    assert config.remote == expected and quiet(seamless.config.get_remote) == expected


def test_remote_command_rejects_invalid_value(setup):
    path = setup.write("seamless.yaml", "- remote: worker\n")
    error = load_error(ConfigFileError)
    assert isinstance(error, ValueError)
    assert str(error) == f"{path}:1: 'remote': remote must be one of: None, daskserver, jobserver; got 'worker'"
    with pytest.raises(ConfigFileError, match="remote must be one of: None, daskserver, jobserver"):
        seamless.config.select_remote("worker")


def test_remote_redundancy_requires_remote_setting(setup):
    setup.write_clusters(demo_cluster(jobserver=True, daskserver=True))
    setup.write("seamless.yaml", "- cluster: demo\n- project: demo\n")
    error = load_error()
    assert str(error) == ("cluster 'demo' frontend 'frontend' has both jobserver and daskserver; in your "
                          "seamless.profile.yaml, specify 'remote: jobserver' or 'remote: daskserver'")


def test_remote_redundancy_across_frontends(setup):
    setup.write_clusters(demo_cluster(jobserver=True, daskserver=True, split=True))
    setup.write("seamless.yaml", "- cluster: demo\n- execution: remote\n")
    assert str(load_error()).startswith("cluster 'demo' exposes both jobserver and daskserver; in your "
                                        "seamless.profile.yaml, specify 'remote: jobserver' or ")


@pytest.mark.parametrize("split", [False, True])
def test_remote_redundancy_allowed_when_remote_set(setup, split):
    setup.write_clusters(demo_cluster(jobserver=True, daskserver=True, split=split))
    setup.write("seamless.yaml", "- cluster: demo\n- remote: jobserver\n- project: demo\n")
    config, messages = load()
    assert config.remote == "jobserver" and config.execution == "remote"
    assert messages == [DEFAULTS_TO_REMOTE]


def test_remote_redundancy_irrelevant_without_remote_execution(setup):
    # the reference checks redundancy only for 'execution: remote'
    setup.write_clusters(demo_cluster(jobserver=True, daskserver=True))
    setup.write("seamless.yaml", "- cluster: demo\n- execution: process\n- persistent: false\n")
    config, messages = load()
    assert config.execution == "process" and config.remote is None and messages == []


@pytest.mark.parametrize("jobserver, daskserver, expected", [(True, False, "jobserver"),
                                                              (False, True, "daskserver")])
def test_remote_redundancy_returns_the_only_backend(setup, jobserver, daskserver, expected):
    setup.write_clusters(demo_cluster(jobserver=jobserver, daskserver=daskserver))
    setup.write("seamless.yaml", "- cluster: demo\n- project: demo\n")
    config, _ = load()
    assert config.remote == expected and quiet(seamless.config.get_remote) == expected


# -- local cluster -------------------------------------------------------------------------


def test_cluster_named_local_is_not_special(setup):
    setup.write_clusters("""\
        local:
          type: local
          workers: 7
          frontends: [{hashserver: {bufferdir: /l}}]
        laptop:
          type: local
          workers: 3
          frontends: [{hashserver: {bufferdir: /p}}]
        """)
    setup.write("seamless.yaml", "- execution: process\n- cluster: local\n")
    config, _ = load()
    assert config.local_cluster is None
    assert not config.clusters["local"].designated_local and not config.clusters["laptop"].designated_local
    seamless.config.reset()
    setup.write_clusters(setup.clusters_yaml.read_text() + "local_cluster: laptop\n")
    setup.write("seamless.yaml", "- execution: process\n")
    config, _ = load()
    assert config.local_cluster == "laptop"
    assert config.clusters["laptop"].designated_local and not config.clusters["local"].designated_local
    assert quiet(seamless.config.get_workers) == 3  # the designated one, not the one named 'local'


def test_renaming_the_seed_cluster_changes_nothing(setup):
    setup.write_seed_cluster(name="mine")
    setup.write_seed_project(cluster="mine")
    mine, _ = load()
    seamless.config.reset()
    setup.write_seed_cluster(name="local")
    setup.write_seed_project(cluster="local")
    local, _ = load()
    for config in (mine, local):
        assert (config.execution, config.persistent, config.local_cluster) == ("process", True, None)
        assert config.cluster.designated_local is False and config.cluster.is_on_this_machine("hashserver")


# -- code selections ------------------------------------------------------------------------


def test_select_in_code_wins_over_files(setup):
    setup.write_seed_cluster()
    setup.write("seamless.yaml", "- project: from-file\n- execution: spawn\n- record: true\n- nparallel: 9\n"
                                 "- cluster: local\n- persistent: true\n")
    seamless.config.select_project("from-code")
    seamless.config.select_execution("process")
    seamless.config.select_record(False)
    seamless.config.select_persistent(False)
    seamless.config.set_nparallel(2)
    config, messages = load()
    assert (config.project, config.execution, config.record, config.persistent, config.nparallel) == (
        "from-code", "process", False, False, 2)
    assert config.cluster_name == "local" and messages == []
    assert quiet(seamless.config.get_selected_project) == "from-code" and quiet(seamless.config.get_nparallel) == 2


def test_select_cluster_none_in_code_wins(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    seamless.config.select_cluster(None)
    config, messages = load()
    assert config.cluster is None and config.persistent is False
    assert quiet(seamless.config.get_selected_cluster) is None and messages == [NO_CLUSTER]


def test_select_validates_values(setup):
    with pytest.raises(ConfigFileError, match="execution must be one of: process, spawn, remote"):
        seamless.config.select_execution("local")
    with pytest.raises(ConfigFileError, match="project cannot contain '--'"):
        seamless.config.select_project("a--b")
    with pytest.raises(ConfigFileError, match="persistent must be true or false"):
        seamless.config.select_persistent("yes")
    with pytest.raises(ValueError, match="nparallel must be a positive integer"):
        seamless.config.set_nparallel(0)
    with pytest.raises(ValueError, match="nparallel must be a positive integer"):
        seamless.config.set_nparallel(True)
    assert SESSION.manual == {}


def test_select_undefined_cluster_in_code(setup):
    seamless.config.select_cluster("ghost")
    assert str(load_error()) == "cluster 'ghost' is not defined (known clusters: none are defined)"


# -- stages: no sticky state ------------------------------------------------------------------


STAGED = """\
- execution: process
- stage gpu:
    - cluster: local
    - project: gpu-project
    - subproject: sub
    - nparallel: 4
    - persistent: false
"""


def test_no_sticky_state_across_stages(setup):
    setup.write_seed_cluster()
    setup.write("seamless.yaml", STAGED)
    config = quiet(seamless.config.set_stage, "gpu")
    assert (config.cluster_name, config.project, config.subproject, config.nparallel) == (
        "local", "gpu-project", "sub", 4)
    assert config.persistent is False and config.stage == "gpu" and seamless.config.get_stage() == "gpu"
    assert seamless.config.get_stores().buffers is None  # not persistent: nothing started
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = seamless.config.set_stage(None)
    assert config.cluster is None and config.project is None and config.subproject is None
    assert config.nparallel is None and config.persistent is False and config.stage is None
    assert seamless.config.get_current() is config
    assert quiet(seamless.config.get_selected_cluster) is None
    assert [str(w.message) for w in caught] == [NO_CLUSTER]


def test_no_sticky_persistence_across_stages(setup):
    setup.write_seed_cluster()
    setup.write("seamless.yaml", STAGED.replace("    - persistent: false\n", ""))
    SESSION.stage = "gpu"
    config = SESSION.load()
    assert config.cluster_name == "local" and config.persistent is True
    SESSION.stage = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = SESSION.load()
    assert config.cluster is None and config.persistent is False
    assert [str(w.message) for w in caught] == [NO_CLUSTER]


def test_code_selections_survive_stage_changes(setup):
    setup.write("seamless.yaml", "- execution: process\n- stage s1:\n    - project: staged\n")
    seamless.config.select_project("from-code")
    assert quiet(seamless.config.set_stage, "s1").project == "from-code"
    assert quiet(seamless.config.set_stage, None).project == "from-code"


def test_set_stage_rejects_bad_names(setup):
    with pytest.raises(ConfigurationError, match="cannot contain 'STAGE-'"):
        seamless.config.set_stage("STAGE-x")
    assert seamless.config.get_stage() is None


def test_get_current_reloads_for_the_stage(setup):
    setup.write("seamless.yaml", "- execution: process\n- project: p\n- stage s:\n    - record: true\n")
    assert quiet(seamless.config.get_current).record is False
    SESSION.stage = "s"
    config = quiet(seamless.config.get_current)
    assert config.record is True and config.stage == "s"


# -- SEAMLESS_CACHE ------------------------------------------------------------------------------


def test_seamless_cache_replaces_the_files(setup, monkeypatch):
    setup.write_clusters("this: [is broken\n")
    setup.write("seamless.yaml", "not a list\n")
    setup.write("seamless.profile.yaml", "- execution: remote\n")
    monkeypatch.setenv("SEAMLESS_CACHE", "  ~/cache  ")
    config, messages = load()
    directory = str(setup.home / "cache")
    assert messages == []
    assert config.seamless_cache == directory and seamless.config.get_seamless_cache() == directory
    assert config.cluster_name == "__SEAMLESS_CACHE__" and config.local_cluster == "__SEAMLESS_CACHE__"
    assert config.project == "__TOPLEVEL__" and config.subproject is None
    assert (config.execution, config.persistent, config.record) == ("process", True, False)
    assert config.files == () and list(config.clusters) == ["__SEAMLESS_CACHE__"]
    cluster = config.cluster
    assert cluster.type == "local" and cluster.designated_local and cluster.tunnel is False
    services = cluster.frontends[0].services
    assert services["hashserver"].directory == directory and services["database"].directory == directory
    assert services["hashserver"].port_range is None


def test_seamless_cache_keeps_a_project_selected_in_code_and_the_stage(setup, monkeypatch):
    monkeypatch.setenv("SEAMLESS_CACHE", str(setup.root / "cache"))
    seamless.config.select_project("mine")
    SESSION.stage = "s1"
    config, _ = load()
    assert (config.project, config.stage, config.cluster_name) == ("mine", "s1", "__SEAMLESS_CACHE__")


def test_blank_seamless_cache_is_unset(setup, monkeypatch):
    monkeypatch.setenv("SEAMLESS_CACHE", "   ")
    setup.write("seamless.yaml", "- execution: spawn\n- project: files\n")
    config, _ = load()
    assert config.seamless_cache is None and config.project == "files" and config.execution == "spawn"
    assert seamless.config.get_seamless_cache() is None


# -- workers and nparallel -----------------------------------------------------------------------


def test_get_workers_uses_the_local_cluster(setup):
    setup.write_clusters("""\
        local_cluster: laptop
        laptop:
          type: local
          workers: 5
          frontends: [{hashserver: {bufferdir: /p}}]
        """)
    setup.write("seamless.yaml", "- execution: spawn\n")
    assert quiet(seamless.config.get_workers) == 5
    assert quiet(seamless.config.get_nparallel) == 5
    seamless.config.reset()
    setup.write("seamless.yaml", "- execution: spawn\n- cluster: laptop\n- persistent: false\n")
    assert quiet(seamless.config.get_workers) == 5


def test_get_workers_defaults_to_the_cpu_count(setup):
    setup.write("seamless.yaml", "- execution: spawn\n")
    assert quiet(seamless.config.get_workers) == (os.cpu_count() or 1)
    seamless.config.reset()
    # a local cluster without 'workers'
    setup.write_seed_cluster(extra="local_cluster: local\n")
    assert quiet(seamless.config.get_workers) == (os.cpu_count() or 1)


def test_get_nparallel(setup):
    setup.write("seamless.yaml", "- execution: process\n")
    assert quiet(seamless.config.get_nparallel) == (os.cpu_count() or 1)
    seamless.config.reset()
    setup.write("seamless.yaml", "- execution: process\n- nparallel: 4\n")
    assert quiet(seamless.config.get_nparallel) == 4
    seamless.config.set_nparallel(2)  # code wins
    assert quiet(seamless.config.get_nparallel) == 2
