//! `check`: vectors run through roomcore, and the list of vector files a directory holds.

use crate::fail::Fail;
use crate::tools::stdout;
use roomcore::check::{check, skip_front_matter, CheckOptions, Report};
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

/// The vector files named: files as given, directories expanded to their `.jsonl` vectors
/// and `.snap` snapshots in name order.
pub fn vector_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, Fail> {
    let mut files = Vec::new();
    for a in args {
        if !a.is_dir() {
            files.push(a.clone());
            continue;
        }
        let entries = std::fs::read_dir(a)
            .map_err(|e| Fail::Input(format!("{}: cannot list: {e}", a.display())))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl" || x == "snap"))
            .collect();
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

fn check_one(path: &Path, options: CheckOptions) -> Result<Report, String> {
    let f = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let unwrapped = skip_front_matter(BufReader::new(f)).map_err(|e| e.to_string())?;
    check(unwrapped, options).map_err(|e| e.to_string())
}

pub fn check_all(args: &[PathBuf], strict: bool) -> Result<(), Fail> {
    let options = CheckOptions {
        compare_messages: strict,
        ..CheckOptions::default()
    };
    let (mut passed, mut failed, mut invalid) = (0, 0, 0);
    let mut w = stdout();
    for path in vector_files(args)? {
        let name = path.display();
        match check_one(&path, options) {
            Ok(r) if r.passed() => {
                passed += 1;
                writeln!(
                    w,
                    "ok      {name} ({} inputs, {} outputs)",
                    r.inputs, r.outputs
                )?;
            }
            Ok(r) => {
                failed += 1;
                writeln!(w, "FAIL    {name}")?;
                for d in &r.divergences {
                    write!(w, "  {d}")?;
                }
            }
            Err(e) => {
                invalid += 1;
                writeln!(w, "INVALID {name}: {e}")?;
            }
        }
    }
    writeln!(w, "{passed} passed, {failed} failed, {invalid} invalid")?;
    w.flush()?;
    if invalid > 0 {
        Err(Fail::Input(format!(
            "{invalid} vector(s) are not valid traces"
        )))
    } else if failed > 0 {
        Err(Fail::Mismatch)
    } else {
        Ok(())
    }
}
