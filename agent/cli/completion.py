"""`lifeline completion bash|zsh` and `lifeline man`: shell completion and the manual page,
both generated from the argparse parser, so they can never list an option the command
does not have (or miss one it has).

    lifeline completion bash > /etc/bash_completion.d/lifeline
    lifeline completion zsh > /usr/local/share/zsh/site-functions/_lifeline
    lifeline man > /usr/local/share/man/man1/lifeline.1     # the wheel ships it too

The parser is read through argparse's documented objects where there are some, and its
`_actions` list where there are none (as every completion generator for argparse does);
`tests/agent/cli/test_completion.py` runs the results in real bash and zsh and man.
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass, field

SHELLS = ("bash", "zsh")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete for")


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(bash(read_parser()) if args.shell == "bash" else zsh(read_parser()))
    return 0


# --- the parser as data ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Option:
    flags: tuple[str, ...]
    help: str
    metavar: str | None = None          # None: a flag that takes no value
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Positional:
    metavar: str
    help: str
    choices: tuple[str, ...] = ()
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    path: tuple[str, ...]               # () for `lifeline` itself, ("alerts", "list")
    help: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]
    commands: dict[str, Command] = field(default_factory=dict)

    def walk(self) -> list[Command]:
        """This command and every subcommand under it, depth first."""
        return [self, *(c for sub in self.commands.values() for c in sub.walk())]


def read_parser(parser: argparse.ArgumentParser | None = None) -> Command:
    """The whole command line as a `Command` tree (the real parser by default)."""
    if parser is None:
        from agent.cli import build_parser  # here: agent.cli imports this module

        parser = build_parser()
    return _command(parser, (), parser.description or "")


def _command(parser: argparse.ArgumentParser, path: tuple[str, ...], help_text: str) -> Command:
    options, positionals, commands = [], [], {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                commands[name] = _command(sub, (*path, name), helps.get(name, ""))
        elif action.help == argparse.SUPPRESS:
            continue
        elif action.option_strings:
            takes_value = action.nargs != 0
            metavar = (action.metavar or action.dest.upper()) if takes_value else None
            options.append(Option(tuple(action.option_strings), _plain(action.help),
                                  str(metavar) if metavar else None, _choices(action)))
        else:
            positionals.append(Positional(str(action.metavar or action.dest.upper()),
                                          _plain(action.help), _choices(action),
                                          action.nargs in ("+", "*")))
    return Command(path, help_text, tuple(options), tuple(positionals), commands)


def _choices(action: argparse.Action) -> tuple[str, ...]:
    return tuple(str(c) for c in action.choices) if action.choices else ()


def _plain(text: str | None) -> str:
    """Help text without argparse's %(default)s-style formatting."""
    return re.sub(r"%\((\w+)\)s", r"\1", text or "").replace("%%", "%")


# --- bash --------------------------------------------------------------------------------

def bash(root: Command) -> str:
    """A bash completion script: commands, options, option values (choices; files for the
    rest), the CONFIG file."""
    subcommands, options, valued, choices = [], [], [], []
    for c in root.walk():
        here = " ".join(c.path)
        key = shlex.quote(here)
        if c.commands:
            subcommands.append(f"        {key}) echo {shlex.quote(' '.join(c.commands))} ;;")
        flags = " ".join(f for o in c.options for f in o.flags)
        options.append(f"        {key}) echo {shlex.quote(flags)} ;;")
        for o in c.options:
            if o.metavar is None:
                continue
            for flag in o.flags:
                valued.append(shlex.quote(f"{here}|{flag}"))
                if o.choices:
                    choices.append(f"        {shlex.quote(f'{here}|{flag}')}) "
                                   f"echo {shlex.quote(' '.join(o.choices))} ;;")
    return _BASH.format(subcommands="\n".join(subcommands), options="\n".join(options),
                        valued="|".join(valued) or "''", choices="\n".join(choices))


_BASH = """\
# bash completion for lifeline; generated by `lifeline completion bash` from its parser.
# Install: lifeline completion bash > /etc/bash_completion.d/lifeline

_lifeline_subcommands() {{
    case "$1" in
{subcommands}
    esac
}}

_lifeline_options() {{
    case "$1" in
{options}
    esac
}}

_lifeline_choices() {{
    case "$1" in
{choices}
    esac
}}

_lifeline_takes_value() {{
    case "$1" in
        {valued}) return 0 ;;
    esac
    return 1
}}

_lifeline() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" path="" word i
    local -a subs
    # Which (sub)command the words so far name; an option's value is not a command.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        if _lifeline_takes_value "$path|$word"; then
            ((i++))
            continue
        fi
        read -ra subs <<< "$(_lifeline_subcommands "$path")"
        for sub in "${{subs[@]}}"; do
            if [[ "$word" == "$sub" ]]; then
                path="${{path:+$path }}$word"
                break
            fi
        done
    done
    local prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    if ((COMP_CWORD > 1)) && _lifeline_takes_value "$path|$prev"; then
        local values
        values="$(_lifeline_choices "$path|$prev")"
        if [[ -n "$values" ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur")
        else
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
        return 0
    fi
    if [[ "$cur" == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_lifeline_options "$path")" -- "$cur")
        return 0
    fi
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -W "$(_lifeline_subcommands "$path")" -- "$cur"; \\
                             [[ -n "$path" ]] && compgen -f -- "$cur")
    return 0
}}

complete -F _lifeline lifeline
"""


# --- zsh ---------------------------------------------------------------------------------

def zsh(root: Command) -> str:
    """A zsh completion function (#compdef) with a description for every command and option."""
    functions = [_zsh_function(c) for c in root.walk()]
    return ("#compdef lifeline\n"
            "# zsh completion for lifeline; generated by `lifeline completion zsh` from its "
            "parser.\n# Install: lifeline completion zsh > "
            "/usr/local/share/zsh/site-functions/_lifeline\n\n"
            + "\n".join(functions) + '\n_lifeline "$@"\n')


def _zsh_name(command: Command) -> str:
    return "_lifeline" + "".join("_" + re.sub(r"\W", "_", p) for p in command.path)


def _zsh_quote(text: str, *, describe: bool = False) -> str:
    """Text inside a single-quoted _arguments spec (or a _describe item): no ', no
    unbalanced brackets, no colon that would end the field."""
    text = text.replace("'", "'\\''").replace("[", "(").replace("]", ")")
    return text if describe else text.replace(":", "\\:")


def _zsh_function(command: Command) -> str:
    specs = []
    for o in command.options:
        value = ""
        if o.metavar is not None:
            action = f"({' '.join(o.choices)})" if o.choices else "_files"
            value = f":{_zsh_quote(o.metavar)}:{action}"
        exclusive = f"({' '.join(o.flags)})" if len(o.flags) > 1 else ""
        names = "{" + ",".join(o.flags) + "}" if len(o.flags) > 1 else o.flags[0]
        specs.append(f"'{exclusive}'{names}'[{_zsh_quote(o.help)}]{value}'"
                     if exclusive else f"'{names}[{_zsh_quote(o.help)}]{value}'")
    for p in command.positionals:
        action = f"({' '.join(p.choices)})" if p.choices else "_files"
        specs.append(f"'{'*' if p.repeated else ''}:{_zsh_quote(p.metavar)}:{action}'")
    lines = [f"{_zsh_name(command)}() {{"]
    if command.commands:
        described = " ".join(f"'{name}:{_zsh_quote(sub.help, describe=True)}'"
                             for name, sub in command.commands.items())
        before = len(command.positionals)     # alerts: CONFIG comes before the action
        lines += ["    local context state state_descr line ret=1",
                  "    typeset -A opt_args",
                  "    local -a commands",
                  f"    commands=({described})",
                  "    _arguments -C \\",
                  *(f"        {spec} \\" for spec in specs),
                  "        ': :->command' \\",
                  "        '*:: :->args' && ret=0",
                  "    case $state in",
                  "        command) _describe -t commands 'lifeline command' commands "
                  "&& ret=0 ;;",
                  "        args)",
                  # words: the normal arguments; drop those before the subcommand's name
                  *([f"            shift {before} words", f"            (( CURRENT -= {before} ))"]
                    if before else []),
                  f"            case $line[{before + 1}] in"]
        lines += [f"                {name}) {_zsh_name(sub)} && ret=0 ;;"
                  for name, sub in command.commands.items()]
        lines += ["            esac ;;", "    esac", "    return ret"]
    else:
        lines += ["    _arguments \\", *(f"        {spec} \\" for spec in specs),
                  "        && return 0", "    return 1"] if specs else ["    return 1"]
    lines.append("}\n")
    return "\n".join(lines)


# --- man ---------------------------------------------------------------------------------

def manpage(root: Command, version: str | None = None) -> str:
    """lifeline(1) in roff (man(7) macros): synopsis, every command with its arguments
    and options, exit status, environment, files."""
    if version is None:
        from agent.cli import version as installed

        version = installed()
    # No date: the page changes when the parser does, not when it is generated.
    out = [f'.TH LIFELINE 1 "" "lifeline {_roff(version)}" "User Commands"',
           ".nh", ".ad l",       # options are not words: no hyphenation, no stretched lines
           ".SH NAME", r"lifeline \- " + _roff(root.help.rstrip(".")),
           ".SH SYNOPSIS", r".B lifeline", r"[\fB\-\-version\fR] \fICOMMAND\fR [\fIARGS\fR]",
           ".SH DESCRIPTION",
           "Each command below says what it takes. Every command that prints data takes "
           r"\fB\-\-format\fR (table, json, csv; jsonl where it streams). "
           "The full reference is in the documentation installed beside this page "
           "(share/doc/lifeline in the installation prefix).",
           ".SH COMMANDS"]
    for command in root.walk()[1:]:
        out += _man_command(command)
    out += [".SH EXIT STATUS",
            ".TP", "0", "success",
            ".TP", "1", "bad input: the configuration, the inventory, the arguments",
            ".TP", "2", "a runtime failure: a store that cannot be used, an agent that "
            "cannot start or is not running",
            ".SH ENVIRONMENT",
            ".TP", ".B LIFELINE_DEBUG",
            "1: an unexpected error also prints its traceback (for a bug report).",
            ".TP", ".B NOTIFY_SOCKET, WATCHDOG_USEC",
            r"set by systemd for \fBlifeline run\fR under Type=notify: the agent says when it "
            "is ready and feeds the watchdog while it is healthy.",
            ".TP", r".B *_env",
            "secrets (SNMP communities and keys, tokens, passwords) are named in the "
            "configuration by environment variable or file, never written in it.",
            ".SH FILES",
            ".TP", ".I /etc/lifeline/lifeline.yaml",
            r"the configuration the systemd unit runs (see \fBlifeline validate\fR).",
            ".TP", ".I /var/lib/lifeline",
            "the state_dir under the unit: alert store, metrics, spool, status.json.",
            ".SH SEE ALSO", r"\fBsystemctl\fR(1), \fBjournalctl\fR(1)", ""]
    return "\n".join(out)


def _man_command(command: Command) -> list[str]:
    usage = ["lifeline", *command.path]
    usage += [f"[{o.flags[-1]}{' ' + o.metavar if o.metavar else ''}]"
              for o in command.options if "--help" not in o.flags]
    usage += [f"{p.metavar}{' ...' if p.repeated else ''}" for p in command.positionals]
    out = [".SS " + _roff(" ".join(command.path)), _roff(command.help), ".PP",
           ".B " + _roff(" ".join(usage)) if not command.commands else
           ".B " + _roff(" ".join([*usage, "ACTION"]))]
    for p in command.positionals:
        out += [".TP", rf"\fI{_roff(p.metavar)}\fR", _roff(_with_choices(p.help, p.choices))]
    for o in command.options:
        if "--help" in o.flags:
            continue
        flags = ", ".join(rf"\fB{_roff(f)}\fR" for f in o.flags)
        value = rf" \fI{_roff(o.metavar)}\fR" if o.metavar else ""
        out += [".TP", flags + value, _roff(_with_choices(o.help, o.choices))]
    return out


def _with_choices(text: str, choices: tuple[str, ...]) -> str:
    return f"{text} (one of: {', '.join(choices)})" if choices and "|" not in text else text


def _roff(text: str) -> str:
    """Text safe in a roff line: backslashes and hyphens escaped, no leading dot or quote."""
    text = text.replace("\\", r"\e").replace("-", r"\-")
    return "\\&" + text if text.startswith((".", "'")) else text
