use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = qntcbot::cli::Cli::parse();
    qntcbot::cli::run(cli).await
}
