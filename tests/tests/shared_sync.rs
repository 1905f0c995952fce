//! The repository's copies of the shared contract are exact: the
//! conformance vectors in `tests/conformance/` and `docs/SEMANTICS.md` match
//! `../shared` byte for byte, when a `shared` folder stands beside the
//! checkout (as in CI). A clone without it tests itself from its copies and
//! skips this check with a message.

use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn shared() -> Option<PathBuf> {
    let s = repo().parent()?.join("shared");
    s.join("SEMANTICS.md").is_file().then_some(s)
}

#[test]
fn copies_of_the_shared_contract_are_exact() {
    let Some(shared) = shared() else {
        eprintln!("no ../shared beside the checkout: copies not compared (CI compares them)");
        return;
    };
    let mine = repo();
    let same = |a: &Path, b: &Path| {
        let (x, y) = (fs::read(a), fs::read(b));
        assert!(
            matches!((&x, &y), (Ok(x), Ok(y)) if x == y),
            "{} differs from {}: copy it again",
            b.display(),
            a.display()
        );
    };
    same(
        &shared.join("SEMANTICS.md"),
        &mine.join("docs/SEMANTICS.md"),
    );
    let mut n = 0;
    for entry in fs::read_dir(shared.join("conformance")).expect("shared/conformance") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().expect("a file name");
        same(&path, &mine.join("tests/conformance").join(name));
        n += 1;
    }
    assert!(n >= 94, "only {n} shared vectors");
}
