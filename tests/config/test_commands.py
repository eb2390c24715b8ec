"""The command language of seamless.yaml / seamless.profile.yaml: syntax,
stage blocks, inherit_from_parent, precedence and the 'clusters' command
(spec section 3)."""

from __future__ import annotations

import textwrap
import warnings

import pytest

import seamless.config
from seamless.config import ConfigFileError, ConfigurationError
from seamless.config.commands import collect
from seamless.config.session import SESSION

EXAMPLE = "Example:\n- project: myproject"


def commands(setup, stage=None, workdir=None):
    """(name, argument) of the invocations of the project folder."""
    invocations, _ = collect(str(workdir or setup.project), stage)
    return [(inv.name, inv.argument) for inv in invocations]


def fresh_session(stage):
    workdir = SESSION.workdir
    seamless.config.reset()
    seamless.config.set_workdir(workdir)
    SESSION.stage = stage


def current(stage=None):
    """get_current() in stage (from a fresh session in the same workdir),
    without the default-rule warnings."""
    fresh_session(stage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return seamless.config.get_current()


def error_of(stage=None) -> ConfigFileError:
    fresh_session(stage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigFileError) as info:
            seamless.config.get_current()
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConfigurationError)
    return info.value


# -- syntax -------------------------------------------------------------------------


@pytest.mark.parametrize("text, found", [
    ("project: x\n", "a dict"),
    ("", "an empty file"),
    ("# just a comment\n", "an empty file"),
    ("just-a-string\n", "a str"),
])
def test_not_a_list(setup, text, found):
    path = setup.write("seamless.yaml", text)
    error = error_of()
    assert str(error) == f"{path}: expected a YAML list of commands, found {found}. {EXAMPLE}"
    assert error.path == str(path) and error.line is None


def test_not_a_list_in_profile_names_the_profile(setup):
    setup.write("seamless.yaml", "- project: p\n")
    path = setup.write("seamless.profile.yaml", "cluster: local\n")
    assert str(error_of()).startswith(f"{path}: expected a YAML list of commands, found a dict.")


def test_two_key_mapping(setup):
    path = setup.write("seamless.yaml", "- project: p\n- {cluster: c, execution: process}\n")
    error = error_of()
    assert str(error) == (f"{path}:2: commands must be strings or single-key mappings, found "
                          f"{{'cluster': 'c', 'execution': 'process'}}. {EXAMPLE}")
    assert error.line == 2


@pytest.mark.parametrize("item", ["5", "- [a, b]", "3.5"])
def test_items_that_are_neither_strings_nor_mappings(setup, item):
    path = setup.write("seamless.yaml", f"- project: p\n\n- {item}\n")
    assert str(error_of()).startswith(f"{path}:3: commands must be strings or single-key mappings")


def test_non_string_command_name(setup):
    path = setup.write("seamless.yaml", "- project: p\n- 5: x\n")
    assert str(error_of()) == f"{path}:2: command names must be strings, found 5"


def test_unknown_command_with_line_number(setup):
    path = setup.write("seamless.yaml", "# my project\n- project: p\n\n- projct: q\n")
    error = error_of()
    assert str(error).startswith(f"{path}:4: unknown command 'projct' (known commands: project, ")
    assert error.line == 4


def test_unknown_command_is_raised_before_any_command_runs(setup):
    # the bad cluster name on line 1 would be an error too, but the syntax
    # of the whole file is checked first
    path = setup.write("seamless.yaml", "- cluster: nope\n- frobnicate: 1\n")
    assert str(error_of()).startswith(f"{path}:2: unknown command 'frobnicate'")


def test_stage_without_space_is_not_a_stage_block(setup):
    path = setup.write("seamless.yaml", "- stageprod:\n    - project: p\n")
    assert str(error_of("prod")).startswith(f"{path}:1: unknown command 'stageprod'")


def test_argument_errors_name_file_line_and_command(setup):
    path = setup.write("seamless.yaml", "- project: p\n- execution: local\n")
    assert str(error_of()) == (f"{path}:2: 'execution': execution must be one of: process, spawn, remote; "
                               "got 'local'")
    setup.write("seamless.yaml", "- project: 5\n")
    assert str(error_of()) == f"{path}:1: 'project': expects a string value, got 5"
    setup.write("seamless.yaml", "- persistent: 'true'\n")
    assert str(error_of()) == f"{path}:1: 'persistent': expects a boolean value (true or false), got 'true'"
    setup.write("seamless.yaml", "- nparallel: true\n")
    assert "nparallel must be a positive integer, got True" in str(error_of())
    setup.write("seamless.yaml", "- nparallel: 0\n")
    assert str(error_of()).startswith(f"{path}:1: 'nparallel': nparallel must be a positive integer")
    setup.write("seamless.yaml", "- project: a/b\n")
    assert str(error_of()).startswith(f"{path}:1: 'project': project cannot contain '/'")
    setup.write("seamless.yaml", "- node: ''\n")
    assert str(error_of()).startswith(f"{path}:1: 'node': node must be a non-empty string or null")


def test_argument_errors_inside_stage_blocks_have_their_line(setup):
    path = setup.write("seamless.yaml", "- project: p\n- stage prod:\n    - project: q\n    - execution: fast\n")
    assert current().project == "p"  # the block is not evaluated outside its stage
    assert str(error_of("prod")).startswith(f"{path}:4: 'execution': execution must be one of")


def test_undefined_cluster_names_file_and_line(setup):
    setup.write_seed_cluster()
    path = setup.write("seamless.yaml", "- project: p\n- cluster: nope\n- execution: process\n")
    assert str(error_of()) == f"{path}:2: 'cluster': cluster 'nope' is not defined (known clusters: local)"


def test_bare_inherit_from_parent_takes_no_argument(setup):
    path = setup.write("seamless.yaml", "- inherit_from_parent: yes\n")
    assert str(error_of()) == f"{path}:1: 'inherit_from_parent' takes no argument"


# -- stage blocks -------------------------------------------------------------------


def test_stage_blocks_apply_only_in_their_stage(setup):
    setup.write("seamless.yaml", """\
        - project: base
        - execution: process
        - stage prod:
            - project: production
            - execution: spawn
        - stage test:
            - record: true
        """)
    assert commands(setup) == [("project", "base"), ("execution", "process")]
    assert commands(setup, "prod") == [("project", "base"), ("execution", "process"),
                                       ("project", "production"), ("execution", "spawn")]
    assert commands(setup, "test") == [("project", "base"), ("execution", "process"), ("record", True)]
    assert commands(setup, "other") == commands(setup)
    config = current("prod")
    assert (config.project, config.execution, config.record, config.stage) == ("production", "spawn", False,
                                                                               "prod")
    config = current()
    assert (config.project, config.execution, config.record) == ("base", "process", False)
    config = current("test")
    assert (config.project, config.record) == ("base", True)


def test_stage_block_counts_at_its_position(setup):
    setup.write("seamless.yaml", """\
        - stage prod:
            - project: from-stage
            - execution: spawn
        - project: unconditional
        """)
    config = current("prod")
    assert config.project == "unconditional"  # the later command wins
    assert config.execution == "spawn"  # not overridden
    assert commands(setup, "prod") == [("project", "from-stage"), ("execution", "spawn"),
                                       ("project", "unconditional")]


def test_later_unconditional_cluster_overrides_stage_block(setup):
    setup.write_clusters("""\
        a:
          type: local
          frontends: [{hashserver: {bufferdir: /a}}]
        b:
          type: local
          frontends: [{hashserver: {bufferdir: /b}}]
        """)
    setup.write("seamless.yaml", """\
        - execution: process
        - stage gpu:
            - cluster: a
        - cluster: b
        - stage gpu:
            - persistent: false
        """)
    config = current("gpu")
    assert config.cluster_name == "b" and config.persistent is False
    config = current()
    assert config.cluster_name == "b" and config.persistent is True


def test_nested_stage_blocks(setup):
    setup.write("seamless.yaml", """\
        - project: base
        - stage a:
            - subproject: in-a
            - stage a:
                - project: a-in-a
            - stage b:
                - project: b-in-a
            - nparallel: 3
        - stage b:
            - subproject: in-b
        """)
    assert commands(setup, "a") == [("project", "base"), ("subproject", "in-a"), ("project", "a-in-a"),
                                    ("nparallel", 3)]
    # the inner 'stage b' is inside 'stage a': never both
    assert commands(setup, "b") == [("project", "base"), ("subproject", "in-b")]
    assert commands(setup) == [("project", "base")]


def test_nested_stage_block_errors_have_their_line(setup):
    path = setup.write("seamless.yaml", """\
        - project: base
        - stage a:
            - stage a:
                - project: ok
                - bogus: 1
        """)
    assert commands(setup) == [("project", "base")]
    with pytest.raises(ConfigFileError) as info:
        commands(setup, "a")
    assert str(info.value).startswith(f"{path}:5: unknown command 'bogus'")


@pytest.mark.parametrize("text", ["- stage:\n    - project: x\n", "- stage\n", "- 'stage  ':\n    - project: x\n"])
def test_bare_stage_key_is_a_clear_error(setup, text):
    path = setup.write("seamless.yaml", "- project: p\n" + text)
    error = error_of()
    assert str(error) == f"{path}:2: a stage block needs a name: '- stage NAME:' followed by a list"
    assert not isinstance(error, AttributeError)


@pytest.mark.parametrize("value", ["x", "{project: x}", "null", "5"])
def test_non_list_stage_block(setup, value):
    path = setup.write("seamless.yaml", f"- project: p\n- stage prod: {value}\n")
    # an error in every stage, not only in 'prod'
    for stage in (None, "prod"):
        assert str(error_of(stage)) == f"{path}:2: 'stage prod' must be followed by a YAML list of commands"


def test_stage_block_with_extra_spaces(setup):
    setup.write("seamless.yaml", "- 'stage   prod  ':\n    - project: spaced\n")
    assert commands(setup, "prod") == [("project", "spaced")]


def test_empty_stage_block(setup):
    setup.write("seamless.yaml", "- project: p\n- stage prod: []\n")
    assert commands(setup, "prod") == [("project", "p")]


def test_substage_syntax_never_matches(setup):
    setup.write("seamless.yaml", "- project: p\n- stage prod:gpu:\n    - project: q\n")
    assert commands(setup, "prod") == [("project", "p")]


# -- inherit_from_parent ------------------------------------------------------------------


@pytest.fixture
def child(setup):
    folder = setup.project / "child"
    folder.mkdir()
    seamless.config.set_workdir(folder)
    return folder


def test_parent_not_read_without_inherit_from_parent(setup, child):
    setup.write("seamless.yaml", "this is: [not even valid\n")  # would fail if read
    setup.write("seamless.yaml", "- project: child\n", folder=child)
    config = current()
    assert config.project == "child" and config.files == (str(child / "seamless.yaml"),)


def test_workdir_without_files_reads_no_parent(setup, child):
    setup.write("seamless.yaml", "- project: parent\n- inherit_from_parent\n")
    config = current()
    assert config.project is None and config.files == ()


@pytest.mark.parametrize("inherit", ["- inherit_from_parent", "- inherit_from_parent:",
                                     "- inherit_from_parent: null"])
def test_inherit_from_parent_reads_parent_first(setup, child, inherit):
    parent_yaml = setup.write("seamless.yaml", "- project: parent\n- execution: spawn\n- nparallel: 2\n")
    parent_profile = setup.write("seamless.profile.yaml", "- nparallel: 5\n")
    child_yaml = setup.write("seamless.yaml", f"- project: child\n{inherit}\n", folder=child)
    config = current()
    # the child's project wins although inherit_from_parent comes after it
    assert config.project == "child"
    assert config.execution == "spawn" and config.nparallel == 5
    assert config.files == (str(parent_yaml), str(parent_profile), str(child_yaml))
    assert commands(setup, workdir=child) == [("project", "parent"), ("execution", "spawn"),
                                              ("nparallel", 2), ("nparallel", 5), ("project", "child")]


def test_inherit_from_parent_in_the_profile(setup, child):
    setup.write("seamless.yaml", "- project: parent\n- record: true\n")
    setup.write("seamless.yaml", "- execution: process\n", folder=child)
    setup.write("seamless.profile.yaml", "- inherit_from_parent\n", folder=child)
    config = current()
    assert (config.project, config.record, config.execution) == ("parent", True, "process")


def test_inherit_from_parent_chains_upwards(setup, child):
    grandchild = child / "grandchild"
    grandchild.mkdir()
    seamless.config.set_workdir(grandchild)
    setup.write("seamless.yaml", "- project: top\n- record: true\n- nparallel: 1\n")
    setup.write("seamless.yaml", "- inherit_from_parent\n- project: middle\n- nparallel: 2\n", folder=child)
    setup.write("seamless.yaml", "- inherit_from_parent\n- nparallel: 3\n", folder=grandchild)
    config = current()
    assert (config.project, config.record, config.nparallel) == ("middle", True, 3)
    assert len(config.files) == 3 and config.files[0] == str(setup.project / "seamless.yaml")


def test_inherit_from_parent_stops_where_a_level_does_not_inherit(setup, child):
    grandchild = child / "grandchild"
    grandchild.mkdir()
    seamless.config.set_workdir(grandchild)
    setup.write("seamless.yaml", "not: [valid\n")  # above the chain: never read
    setup.write("seamless.yaml", "- project: middle\n", folder=child)
    setup.write("seamless.yaml", "- inherit_from_parent\n", folder=grandchild)
    assert current().project == "middle"


def test_inherit_from_parent_in_a_stage_block_has_no_effect(setup, child):
    setup.write("seamless.yaml", "- project: parent\n")
    setup.write("seamless.yaml", "- stage prod:\n    - inherit_from_parent\n    - record: true\n", folder=child)
    config = current("prod")
    assert config.project is None and config.record is True
    assert config.files == (str(child / "seamless.yaml"),)


def test_errors_in_parent_files_name_the_parent_file(setup, child):
    parent = setup.write("seamless.yaml", "- project: p\n- colour: red\n")
    setup.write("seamless.yaml", "- inherit_from_parent\n", folder=child)
    assert str(error_of()).startswith(f"{parent}:2: unknown command 'colour'")


# -- precedence -----------------------------------------------------------------------------


def test_profile_after_project_file(setup):
    project = setup.write("seamless.yaml", "- project: committed\n- execution: spawn\n- record: true\n")
    profile = setup.write("seamless.profile.yaml", "- project: mine\n- record: false\n")
    config = current()
    assert (config.project, config.execution, config.record) == ("mine", "spawn", False)
    assert config.files == (str(project), str(profile))


def test_profile_alone(setup):
    profile = setup.write("seamless.profile.yaml", "- project: mine\n")
    config = current()
    assert config.project == "mine" and config.files == (str(profile),)


def test_last_command_wins_within_a_file(setup):
    setup.write("seamless.yaml", "- execution: spawn\n- project: a\n- execution: process\n- project: b\n")
    config = current()
    assert (config.project, config.execution) == ("b", "process")


# -- the 'clusters' command --------------------------------------------------------------------


INLINE = """\
  - clusters:
      inline:
        type: local
        workers: 7
        frontends:
          - hashserver: {bufferdir: /inline/buffers}
"""
TOP_INLINE = textwrap.dedent(INLINE)


def test_clusters_command_runs_before_other_commands(setup):
    # 'cluster: inline' comes first, the definition last: it still works
    setup.write("seamless.yaml", "- cluster: inline\n- execution: process\n" + TOP_INLINE)
    config = current()
    assert config.cluster_name == "inline" and config.cluster.workers == 7
    assert config.cluster.frontends[0].services["hashserver"].directory == "/inline/buffers"
    assert config.cluster.source == f"{setup.project / 'seamless.yaml'}:3 ('clusters' command)"


def test_clusters_command_in_profile_serves_the_project_file(setup):
    setup.write("seamless.yaml", "- cluster: inline\n- execution: process\n")
    setup.write("seamless.profile.yaml", TOP_INLINE)
    assert current().cluster_name == "inline"


def test_clusters_command_replaces_a_global_cluster(setup):
    setup.write_seed_cluster(name="inline")
    setup.write("seamless.yaml", "- execution: process\n- cluster: inline\n" + TOP_INLINE)
    config = current()
    assert set(config.cluster.frontends[0].services) == {"hashserver"}  # the whole definition is replaced
    assert config.cluster.workers == 7


def test_clusters_command_in_a_stage_block(setup):
    setup.write("seamless.yaml", "- execution: process\n- stage prod:\n  - cluster: inline\n" + INLINE)
    # the definition is inside 'stage prod' too (INLINE is indented under it)
    config = current("prod")
    assert config.cluster_name == "inline"
    assert "inline" not in current().clusters


def test_clusters_command_errors(setup):
    path = setup.write("seamless.yaml", "- project: p\n- clusters: [inline]\n")
    assert str(error_of()) == f"{path}:2: 'clusters': expects a mapping of cluster definitions, got ['inline']"
    setup.write("seamless.yaml", "- clusters:\n    bad:\n      frontends: [{hashserver: {bufferdir: /b}}]\n")
    with pytest.raises(ConfigurationError) as info:
        current()
    assert str(info.value).startswith(f"{path}:1 ('clusters' command): cluster 'bad', frontends[0]: "
                                      "the field 'hostname' is required")


def test_clusters_command_can_designate_the_local_cluster(setup):
    setup.write("seamless.yaml", TOP_INLINE.replace("- clusters:\n", "- clusters:\n    local_cluster: inline\n")
                + "- execution: process\n")
    config = current()
    assert config.local_cluster == "inline" and config.clusters["inline"].designated_local
