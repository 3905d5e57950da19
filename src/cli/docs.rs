//! `qntcbot completions SHELL` and `qntcbot man`: generated from the same clap definitions
//! that parse the command line, so they never drift from it.

use std::process::ExitCode;

use clap::CommandFactory;

use super::Cli;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

pub fn completions(shell: Shell) -> anyhow::Result<ExitCode> {
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
    };
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "qntcbot", &mut buf);
    super::emit(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}

/// One man page for the program, with every subcommand (and theirs) in a section of its own.
pub fn man() -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    let mut buf = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render(&mut buf)?;
    render_subcommands(&cmd, "qntcbot", &mut buf)?;
    super::emit(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}

fn render_subcommands(cmd: &clap::Command, path: &str, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Write;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("{path} {}", sub.get_name());
        writeln!(buf, ".SH \"{}\"", name.to_uppercase())?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(buf, "{}", roff_text(&about.to_string()))?;
        }
        let usage = sub.clone().bin_name(&name).render_usage().to_string();
        writeln!(buf, ".PP\n\\fB{}\\fR", roff_text(usage.trim_start_matches("Usage: ")))?;
        for arg in sub.get_arguments().filter(|a| !a.is_global_set()) {
            let flag = match (arg.get_short(), arg.get_long()) {
                (Some(s), Some(l)) => format!("-{s}, --{l}"),
                (None, Some(l)) => format!("--{l}"),
                (Some(s), None) => format!("-{s}"),
                (None, None) => arg
                    .get_value_names()
                    .and_then(|v| v.first())
                    .map_or_else(|| arg.get_id().to_string(), |v| format!("<{v}>")),
            };
            // `\-` is roff's hyphen-minus: what a reader types.
            writeln!(buf, ".TP\n\\fB{}\\fR", roff_text(&flag).replace('-', "\\-"))?;
            // Switches (`--json`) take no value; clap still reports true/false for them.
            let takes_value = arg.get_action().takes_values();
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            let mut help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            if takes_value && !values.is_empty() {
                help.push_str(&format!(" [possible values: {}]", values.join(", ")));
            }
            writeln!(buf, "{}", roff_text(help.trim()))?;
        }
        render_subcommands(sub, &name, buf)?;
    }
    Ok(())
}

/// Escapes text for roff: backslashes, and a leading `.` or `'` that would start a request.
fn roff_text(s: &str) -> String {
    let escaped = s.replace('\\', "\\e");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}
