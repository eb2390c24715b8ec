"""A small bash parser: enough of bash's grammar to find the commands, their
words (with their place in the text) and their redirections, which is what
seamless-run needs to type arguments, substitute words and find outputs.

Handled: words with single and double quotes, backslashes, ``$(...)``,
backticks and ``${...}``; pipelines (``|``, ``|&``); lists (``;``, ``&&``,
``||``, ``&``, newlines); subshells ``( ... )`` with redirections after
them; redirections ``[n]> >> < &> >& <& >|`` and here-strings ``<<<``.
Anything else (here-documents, ``if``/``for``/``while`` blocks, functions)
is refused with BashSyntaxError, rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OPERATORS = ("&&", "||", "|&", ";;", "|", ";", "&", "(", ")", "\n")
KEYWORDS = {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
            "function", "select", "{", "}", "[[", "]]"}


class BashSyntaxError(ValueError):
    """Command text outside the supported part of bash."""


@dataclass
class Word:
    raw: str  # as written
    start: int
    end: int
    value: str  # with quotes and backslashes removed (expansions left as written)
    quoted: bool


@dataclass
class Redirect:
    fd: int | None
    op: str
    target: Word


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    group: int | None = None  # the index of the subshell it belongs to


@dataclass
class Pipeline:
    commands: list[Command] = field(default_factory=list)


@dataclass
class Script:
    pipelines: list[Pipeline]
    groups: dict[int, list[Redirect]]  # subshell index -> redirections after its ")"
    leading_group: int | None  # the subshell that starts the script, if any

    @property
    def commands(self) -> list[Command]:
        return [c for p in self.pipelines for c in p.commands]


def _scan_word(text: str, i: int) -> tuple[Word, int]:
    start = i
    value: list[str] = []
    quoted = False
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t\n;&|()<>":
            break
        if c == "\\":
            if i + 1 < n:
                if text[i + 1] != "\n":
                    value.append(text[i + 1])
                quoted = True
                i += 2
                continue
            i += 1
            continue
        if c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise BashSyntaxError("unterminated single quote")
            value.append(text[i + 1:end])
            quoted = True
            i = end + 1
            continue
        if c == '"':
            j = i + 1
            chunk = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n and text[j + 1] in '"\\$`\n':
                    chunk.append(text[j + 1])
                    j += 2
                    continue
                if text.startswith("$(", j) or text[j] == "`":
                    end = _skip_substitution(text, j)
                    chunk.append(text[j:end])
                    j = end
                    continue
                chunk.append(text[j])
                j += 1
            if j >= n:
                raise BashSyntaxError("unterminated double quote")
            value.append("".join(chunk))
            quoted = True
            i = j + 1
            continue
        if text.startswith("$(", i) or c == "`" or text.startswith("${", i):
            end = _skip_substitution(text, i)
            value.append(text[i:end])
            i = end
            continue
        value.append(c)
        i += 1
    return Word(text[start:i], start, i, "".join(value), quoted), i


def _skip_substitution(text: str, i: int) -> int:
    """The end of the $(...), ${...} or `...` starting at i."""
    if text[i] == "`":
        end = text.find("`", i + 1)
        if end < 0:
            raise BashSyntaxError("unterminated backquote")
        return end + 1
    opening, closing = text[i + 1], ")" if text[i + 1] == "(" else "}"
    depth, j = 0, i + 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "'" and closing == ")":
            end = text.find("'", j + 1)
            if end < 0:
                raise BashSyntaxError("unterminated single quote")
            j = end + 1
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise BashSyntaxError(f"unterminated {text[i:i + 2]}")


def _tokens(text: str) -> list[tuple[str, object]]:
    tokens: list[tuple[str, object]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        if c == "#" and (i == 0 or text[i - 1] in " \t\n;&|()"):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c == "\\" and text.startswith("\\\n", i):
            i += 2
            continue
        # a redirection, possibly with a file descriptor number before it
        j = i
        while j < n and text[j].isdigit():
            j += 1
        if j < n and text[j] in "<>" or text.startswith("&>", i):
            fd = int(text[i:j]) if j > i else None
            for op in ("<<<", "<<", "&>>", "&>", ">>", ">&", "<&", ">|", "<>", ">", "<"):
                if text.startswith(op, j):
                    break
            if op == "<<":
                raise BashSyntaxError("here-documents (<<) are not supported; put the text in a file")
            k = j + len(op)
            while k < n and text[k] in " \t":
                k += 1
            if k >= n or text[k] in "\n;&|()<>":
                raise BashSyntaxError(f"a redirection {op!r} without a target")
            word, k = _scan_word(text, k)
            tokens.append(("redirect", Redirect(fd, op, word)))
            i = k
            continue
        for op in OPERATORS:
            if text.startswith(op, i):
                if op == ";;":
                    raise BashSyntaxError("';;' (case) is not supported")
                tokens.append(("op", op))
                i += len(op)
                break
        else:
            word, i = _scan_word(text, i)
            tokens.append(("word", word))
    return tokens


def parse(text: str) -> Script:
    """The commands of text, in source order."""
    pipelines: list[Pipeline] = []
    groups: dict[int, list[Redirect]] = {}
    stack: list[int] = []
    group_count = 0
    leading_group = None
    pipeline = Pipeline()
    command = Command()
    after_group: int | None = None  # redirections now belong to this closed group

    def finish_command() -> None:
        nonlocal command
        if command.words or command.redirects:
            if not command.words:
                raise BashSyntaxError("a redirection without a command")
            pipeline.commands.append(command)
        command = Command(group=stack[-1] if stack else None)

    def finish_pipeline() -> None:
        nonlocal pipeline
        finish_command()
        if pipeline.commands:
            pipelines.append(pipeline)
        pipeline = Pipeline()

    for kind, token in _tokens(text):
        if kind == "word":
            assert isinstance(token, Word)
            if after_group is not None:
                raise BashSyntaxError("words after a closing ')'")
            if not command.words and token.raw in KEYWORDS:
                raise BashSyntaxError(f"'{token.raw}' blocks are not supported; put them in a script file")
            command.words.append(token)
        elif kind == "redirect":
            assert isinstance(token, Redirect)
            if after_group is not None:
                groups[after_group].append(token)
            else:
                command.redirects.append(token)
        elif token == "(":
            if command.words:
                raise BashSyntaxError("'(' inside a command (functions are not supported)")
            finish_pipeline()
            if not pipelines and not stack and leading_group is None:
                leading_group = group_count
            stack.append(group_count)
            groups[group_count] = []
            group_count += 1
            command = Command(group=stack[-1])
            after_group = None
        elif token == ")":
            if not stack:
                raise BashSyntaxError("')' without '('")
            finish_pipeline()
            after_group = stack.pop()
            command = Command(group=stack[-1] if stack else None)
        elif token in ("|", "|&"):
            finish_command()
            after_group = None
        else:  # ; && || & newline
            finish_pipeline()
            after_group = None
    if stack:
        raise BashSyntaxError("'(' without ')'")
    finish_pipeline()
    return Script(pipelines, groups, leading_group)
