//! `<binary> completions SHELL`: the shell completion script of a binary's command line.

use clap_complete::Shell;

/// Write `command`'s completion script for `shell` to stdout.
pub fn print(shell: Shell, mut command: clap::Command) {
    let name = command.get_name().to_string();
    clap_complete::generate(shell, &mut command, name, &mut std::io::stdout());
}
