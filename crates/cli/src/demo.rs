pub fn run(_dir: &std::path::Path) -> crate::error::CliResult<()> { Err(crate::error::CliError::usage("demo: fixture not built yet")) }
