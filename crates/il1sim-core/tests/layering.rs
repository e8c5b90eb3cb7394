//! The layering of the source tree, read from the sources themselves: every module reference
//! (`use crate::…` with brace groups and nested groups, `pub use`, `crate::x::y` and `super::`
//! paths in code, names brought in by `use` of a module) is mapped to the file that defines
//! the module, and the file-level import graph must (a) never go from a lower layer of the
//! core to a higher one and (b) have no circle, in the core and in the CLI. Test modules
//! (`#[cfg(test)]`) may use anything and are left out. ARCHITECTURE.md states the same table
//! as [`CORE_LAYERS`]; a test checks that the two agree.
//!
//! Not seen: methods of an inherent `impl` in another file (`Subject::simulate` is defined in
//! `solve/simulate.rs` and called as a method), which need no `use`; such impls sit at the top
//! of their layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The core's layers, bottom first: a file or folder under `crates/il1sim-core/src/`, its
/// rank and name. A file may import from files of its own rank (without a circle) and of lower
/// ranks only. The crate root (`lib.rs`) holds the bundled model, so it sits with the model.
const CORE_LAYERS: &[(&str, u32, &str)] = &[
    ("error.rs", 0, "shared"),
    ("time.rs", 0, "shared"),
    ("model/", 1, "model"),
    ("lib.rs", 1, "model"),
    ("dosing/", 2, "dosing"),
    ("solve/", 3, "solving"),
    ("metrics.rs", 4, "one-subject outcomes"),
    ("population/", 5, "populations"),
    ("response/", 6, "clinical response and trials"),
    ("sensitivity/", 6, "sensitivity analysis"),
    ("exchange/", 7, "exchange formats"),
    ("validation/", 8, "validation"),
    ("clinical/", 9, "clinical tools"),
    ("estimation/", 10, "estimation"),
];

// ------------------------------------------------------------------------------- the checker

/// One source file: its path relative to `src/` (`solve/subject.rs`) and its text.
struct Source {
    path: String,
    text: String,
}

/// A reference from one file to another: the line (1-based) and its text.
#[derive(Debug, Clone)]
struct Reference {
    line: usize,
    text: String,
}

/// The module path of a file: `solve/subject.rs` → [solve, subject]; `lib.rs` → [].
fn module_of(path: &str) -> Vec<String> {
    let stem = path.strip_suffix(".rs").unwrap_or(path);
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod")
        || (parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main"))
    {
        parts.pop();
    }
    parts
}

/// The text with comments (doc comments too), string and character literals blanked out,
/// line breaks kept, so that paths in them are not read and line numbers stay.
fn strip_comments_and_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = c.clone();
    let blank = |out: &mut Vec<char>, a: usize, b: usize| {
        for ch in out.iter_mut().take(b.min(c.len())).skip(a) {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let at_word_start = i == 0 || !ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            let end = (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len());
            blank(&mut out, i, end);
            i = end;
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let (mut depth, mut k) = (1, i + 2);
            while k < c.len() && depth > 0 {
                if c[k] == '/' && c.get(k + 1) == Some(&'*') {
                    depth += 1;
                    k += 2;
                } else if c[k] == '*' && c.get(k + 1) == Some(&'/') {
                    depth -= 1;
                    k += 2;
                } else {
                    k += 1;
                }
            }
            blank(&mut out, i, k);
            i = k;
        } else if at_word_start && (c[i] == 'r' || (c[i] == 'b' && c.get(i + 1) == Some(&'r'))) {
            // A raw string r"…", r#"…"#, br"…"; otherwise an identifier starting with r or b.
            let mut k = if c[i] == 'b' { i + 2 } else { i + 1 };
            let hashes = (k..c.len()).take_while(|&j| c[j] == '#').count();
            k += hashes;
            if c.get(k) == Some(&'"') {
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let mut j = k + 1;
                while j < c.len() && c[j..].iter().take(close.len()).ne(close.iter()) {
                    j += 1;
                }
                let end = (j + close.len()).min(c.len());
                blank(&mut out, i, end);
                i = end;
            } else {
                i += 1;
                while i < c.len() && ident(c[i]) {
                    i += 1;
                }
            }
        } else if c[i] == '"' {
            let mut k = i + 1;
            while k < c.len() && c[k] != '"' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i, k + 1);
            i = k + 1;
        } else if c[i] == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            if c.get(i + 1) == Some(&'\\') {
                let k = (i + 2..c.len()).find(|&k| c[k] == '\'').unwrap_or(c.len());
                blank(&mut out, i, k + 1);
                i = k + 1;
            } else if c.get(i + 2) == Some(&'\'') {
                blank(&mut out, i, i + 3);
                i += 3;
            } else {
                i += 1;
            }
        } else if ident(c[i]) {
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// The text (already stripped) with every `#[cfg(test)]` item blanked out: the attribute,
/// the attributes after it and the item, up to its `;` or the `}` closing its body.
fn strip_test_items(text: &str) -> String {
    const ATTR: &str = "#[cfg(test)]";
    let mut c: Vec<char> = text.chars().collect();
    let attr: Vec<char> = ATTR.chars().collect();
    let mut i = 0;
    while i + attr.len() <= c.len() {
        if c[i..i + attr.len()] != attr[..] {
            i += 1;
            continue;
        }
        let start = i;
        let mut k = i + attr.len();
        let (mut depth, mut end) = (0i32, c.len());
        while k < c.len() {
            match c[k] {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' => depth -= 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
            k += 1;
        }
        for ch in c.iter_mut().take(end).skip(start) {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        i = end;
    }
    c.into_iter().collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Identifiers, `::` and single punctuation characters, each with its line.
fn tokens(text: &str) -> Vec<(Token, usize)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' || (ch == '$' && c.get(i + 1) == Some(&'c')) {
            let start = i;
            i += 1;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Token::Ident(c[start..i].iter().collect()), line));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.') {
                i += 1;
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            out.push((Token::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// One path a `use` declaration names: its segments, the name it is known by here (`as`, or
/// its last segment), and whether it ends in a glob.
#[derive(Debug, Clone, PartialEq)]
struct UseLeaf {
    path: Vec<String>,
    alias: Option<String>,
    glob: bool,
}

/// Parse the use tree starting at `tokens[*at]` under `prefix`, up to (not past) the `,`,
/// `}` or `;` that ends it.
fn use_tree(tokens: &[(Token, usize)], at: &mut usize, prefix: &[String], out: &mut Vec<UseLeaf>) {
    let mut path = prefix.to_vec();
    if tokens.get(*at).map(|t| &t.0) == Some(&Token::PathSep) {
        *at += 1; // `use ::std::…`: an extern crate.
    }
    loop {
        match tokens.get(*at).map(|t| &t.0) {
            Some(Token::Punct('{')) => {
                *at += 1;
                while !matches!(
                    tokens.get(*at).map(|t| &t.0),
                    None | Some(Token::Punct('}'))
                ) {
                    let before = *at;
                    use_tree(tokens, at, &path, out);
                    if tokens.get(*at).map(|t| &t.0) == Some(&Token::Punct(',')) {
                        *at += 1;
                    } else if *at == before {
                        break; // Not a use tree: stop rather than loop.
                    }
                }
                *at += 1;
                return;
            }
            Some(Token::Punct('*')) => {
                *at += 1;
                out.push(UseLeaf {
                    path,
                    alias: None,
                    glob: true,
                });
                return;
            }
            Some(Token::Ident(name)) => {
                path.push(name.clone());
                *at += 1;
                if tokens.get(*at).map(|t| &t.0) == Some(&Token::PathSep) {
                    *at += 1;
                    continue;
                }
                let mut alias = None;
                if tokens.get(*at).map(|t| &t.0) == Some(&Token::Ident("as".into())) {
                    if let Some(Token::Ident(a)) = tokens.get(*at + 1).map(|t| &t.0) {
                        alias = Some(a.clone());
                    }
                    *at += 2;
                }
                out.push(UseLeaf {
                    path,
                    alias,
                    glob: false,
                });
                return;
            }
            _ => return,
        }
    }
}

/// The modules of a tree (module path → index of its file).
type Modules = BTreeMap<Vec<String>, usize>;

/// Resolve `segments`, written in module `here`, to the module whose file defines what they
/// name, and whether they name that module itself: crate-, `super`- and `self`-relative paths,
/// a child module of `here`, or a name an earlier `use` of a module brought in (`aliases`).
/// None for paths outside the crate.
fn resolve(
    segments: &[String],
    here: &[String],
    modules: &Modules,
    aliases: &BTreeMap<String, Vec<String>>,
) -> Option<(Vec<String>, bool)> {
    let first = segments.first()?;
    let (mut current, rest): (Vec<String>, &[String]) = match first.as_str() {
        "crate" | "$crate" => (vec![], &segments[1..]),
        "self" => (here.to_vec(), &segments[1..]),
        "super" => {
            let supers = segments.iter().take_while(|s| *s == "super").count();
            let base = here.len().checked_sub(supers)?;
            (here[..base].to_vec(), &segments[supers..])
        }
        name => {
            let child: Vec<String> = here.iter().cloned().chain([name.to_string()]).collect();
            if modules.contains_key(&child) {
                (child, &segments[1..])
            } else if let Some(target) = aliases.get(name) {
                (target.clone(), &segments[1..])
            } else {
                return None;
            }
        }
    };
    for (k, s) in rest.iter().enumerate() {
        let next: Vec<String> = current.iter().cloned().chain([s.clone()]).collect();
        if !modules.contains_key(&next) {
            return Some((current, k == rest.len()));
        }
        current = next;
    }
    Some((current, true))
}

/// Every reference of each file to another file of the tree: (from, to) → the first line.
fn references(files: &[Source]) -> BTreeMap<(usize, usize), Reference> {
    let modules: Modules = files
        .iter()
        .enumerate()
        .map(|(i, f)| (module_of(&f.path), i))
        .collect();
    let mut edges: BTreeMap<(usize, usize), Reference> = BTreeMap::new();
    for (from, file) in files.iter().enumerate() {
        let here = module_of(&file.path);
        let lines: Vec<&str> = file.text.lines().collect();
        let code = strip_test_items(&strip_comments_and_literals(&file.text));
        let toks = tokens(&code);
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut found: Vec<(Vec<String>, usize)> = Vec::new();
        let mut in_use = vec![false; toks.len()];
        // `use` declarations first: they define the aliases code paths may start with.
        let mut i = 0;
        while i < toks.len() {
            let is_use = toks[i].0 == Token::Ident("use".into())
                && (i == 0 || toks[i - 1].0 != Token::PathSep);
            if !is_use {
                i += 1;
                continue;
            }
            let line = toks[i].1;
            let mut at = i + 1;
            let mut leaves = Vec::new();
            use_tree(&toks, &mut at, &[], &mut leaves);
            for flag in in_use.iter_mut().take(at.min(toks.len())).skip(i) {
                *flag = true;
            }
            for leaf in leaves {
                let mut path = leaf.path.clone();
                if path.last().is_some_and(|s| s == "self") {
                    path.pop();
                }
                let Some((target, whole)) = resolve(&path, &here, &modules, &aliases) else {
                    continue;
                };
                // A module brought in by name: later paths may start with it.
                if whole && !leaf.glob {
                    if let Some(name) = leaf.alias.clone().or_else(|| path.last().cloned()) {
                        aliases.insert(name, target.clone());
                    }
                }
                found.push((target, line));
            }
            i = at;
        }
        // Paths in code: a name followed by `::`, not itself after `::`.
        let mut i = 0;
        while i < toks.len() {
            let starts = !in_use[i]
                && matches!(toks[i].0, Token::Ident(_))
                && toks.get(i + 1).map(|t| &t.0) == Some(&Token::PathSep)
                && (i == 0 || toks[i - 1].0 != Token::PathSep);
            if !starts {
                i += 1;
                continue;
            }
            let line = toks[i].1;
            let mut segments = Vec::new();
            let mut k = i;
            while let Some(Token::Ident(name)) = toks.get(k).map(|t| &t.0) {
                segments.push(name.clone());
                if toks.get(k + 1).map(|t| &t.0) != Some(&Token::PathSep) {
                    break;
                }
                k += 2;
            }
            if let Some((target, _)) = resolve(&segments, &here, &modules, &aliases) {
                found.push((target, line));
            }
            i = k + 1;
        }
        for (target, line) in found {
            let Some(&to) = modules.get(&target) else {
                continue;
            };
            if to != from {
                edges.entry((from, to)).or_insert_with(|| Reference {
                    line,
                    text: lines.get(line - 1).map_or("", |l| l.trim()).to_string(),
                });
            }
        }
    }
    edges
}

/// The layer of a file: the longest entry of `layers` that is the file or a folder holding it.
fn layer_of<'a>(
    path: &str,
    layers: &'a [(&str, u32, &str)],
) -> Option<&'a (&'a str, u32, &'a str)> {
    layers
        .iter()
        .filter(|(p, _, _)| *p == path || (p.ends_with('/') && path.starts_with(p)))
        .max_by_key(|(p, _, _)| p.len())
}

/// Circles of the file graph: for each strongly connected component of more than one file
/// (files that all import each other, directly or not), its files and the shortest circle
/// through the first of them, as files in order (the first again at the end).
fn circles(n: usize, edges: &BTreeMap<(usize, usize), Reference>) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges.keys() {
        next[a].push(b);
    }
    // Tarjan's algorithm, iteratively.
    let (mut index, mut low) = (vec![usize::MAX; n], vec![0; n]);
    let (mut on_stack, mut stack, mut counter) = (vec![false; n], Vec::new(), 0);
    let mut components: Vec<Vec<usize>> = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&(v, k)) = work.last() {
            if k < next[v].len() {
                let w = next[v][k];
                if let Some(top) = work.last_mut() {
                    top.1 += 1;
                }
                if index[w] == usize::MAX {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        components.push(component);
                    }
                }
            }
        }
    }
    // In each component, the shortest circle through its first file (breadth first).
    components
        .into_iter()
        .map(|component| {
            let inside: BTreeSet<usize> = component.iter().copied().collect();
            let start = *inside.iter().next().expect("a component has files");
            let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            'search: while let Some(v) = queue.pop_front() {
                for &w in next[v].iter().filter(|w| inside.contains(w)) {
                    if w == start {
                        came_from.insert(start, v);
                        break 'search;
                    }
                    if let std::collections::btree_map::Entry::Vacant(e) = came_from.entry(w) {
                        e.insert(v);
                        queue.push_back(w);
                    }
                }
            }
            let mut circle = vec![start];
            let mut v = came_from[&start];
            while v != start {
                circle.push(v);
                v = came_from[&v];
            }
            circle.push(start);
            circle.reverse();
            (inside.into_iter().collect(), circle)
        })
        .collect()
}

/// Everything wrong with a tree: files in no layer, imports from a higher layer (with
/// `layers`; none without), and import circles. `root` prefixes the file names in messages.
fn problems(root: &str, files: &[Source], layers: Option<&[(&str, u32, &str)]>) -> Vec<String> {
    let edges = references(files);
    let name = |i: usize| format!("{root}{}", files[i].path);
    let mut out = Vec::new();
    if let Some(layers) = layers {
        for f in files {
            if layer_of(&f.path, layers).is_none() {
                out.push(format!(
                    "{root}{} is in no layer: add its folder or file to CORE_LAYERS \
                     (crates/il1sim-core/tests/layering.rs) and to ARCHITECTURE.md",
                    f.path
                ));
            }
        }
        for (&(a, b), r) in &edges {
            let (Some(la), Some(lb)) = (
                layer_of(&files[a].path, layers),
                layer_of(&files[b].path, layers),
            ) else {
                continue;
            };
            if lb.1 > la.1 {
                out.push(format!(
                    "{}:{} imports from {}, a higher layer: {} is in layer {} ({}), {} in layer {} ({}); \
                     a file may import only from its own and lower layers\n    {}",
                    name(a),
                    r.line,
                    name(b),
                    files[a].path,
                    la.1,
                    la.2,
                    files[b].path,
                    lb.1,
                    lb.2,
                    r.text
                ));
            }
        }
    }
    for (component, circle) in circles(files.len(), &edges) {
        let steps: Vec<String> = circle
            .windows(2)
            .map(|w| {
                let r = &edges[&(w[0], w[1])];
                format!(
                    "    {}:{} imports {}: {}",
                    name(w[0]),
                    r.line,
                    name(w[1]),
                    r.text
                )
            })
            .collect();
        let all: Vec<&str> = component.iter().map(|&i| files[i].path.as_str()).collect();
        out.push(format!(
            "import circle ({} files import each other: {}):\n{}",
            all.len(),
            all.join(", "),
            steps.join("\n")
        ));
    }
    out
}

/// The `.rs` files under `dir`, with paths relative to it.
fn read_tree(dir: &Path) -> Vec<Source> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<Source>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, base, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(base).expect("under the base");
                out.push(Source {
                    path: rel.to_string_lossy().replace('\\', "/"),
                    text: std::fs::read_to_string(&p)
                        .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display())),
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

fn assert_no_problems(found: Vec<String>) {
    assert!(
        found.is_empty(),
        "the layering is broken ({} problem(s)):\n\n{}\n",
        found.len(),
        found.join("\n\n")
    );
}

// ------------------------------------------------------------------------------- the tree

#[test]
fn core_layers_are_kept_and_have_no_import_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = read_tree(&src);
    assert!(files.len() > 20, "read only {} files", files.len());
    assert_no_problems(problems(
        "crates/il1sim-core/src/",
        &files,
        Some(CORE_LAYERS),
    ));
}

#[test]
fn cli_modules_have_no_import_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../il1sim-cli/src");
    let files = read_tree(&src);
    assert!(files.len() > 10, "read only {} files", files.len());
    assert_no_problems(problems("crates/il1sim-cli/src/", &files, None));
}

/// ARCHITECTURE.md's layer table (rows `| rank | `path` | …`) lists the same files and
/// folders with the same ranks as [`CORE_LAYERS`].
#[test]
fn architecture_md_states_the_same_layers() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ARCHITECTURE.md");
    let text = std::fs::read_to_string(&doc).expect("ARCHITECTURE.md");
    let mut stated: BTreeSet<(String, u32)> = BTreeSet::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[0].is_empty() {
            continue;
        }
        let Ok(rank) = cells[1].parse::<u32>() else {
            continue;
        };
        for path in cells[2].split(',') {
            let path = path.trim().trim_matches('`');
            if !path.is_empty() {
                stated.insert((path.to_string(), rank));
            }
        }
    }
    let coded: BTreeSet<(String, u32)> = CORE_LAYERS
        .iter()
        .map(|(p, r, _)| (p.to_string(), *r))
        .collect();
    assert_eq!(
        stated, coded,
        "ARCHITECTURE.md's layer table and CORE_LAYERS differ"
    );
}

// ------------------------------------------------------------------------------- the checker's own tests

fn tree(files: &[(&str, &str)]) -> Vec<Source> {
    files
        .iter()
        .map(|(p, t)| Source {
            path: p.to_string(),
            text: t.to_string(),
        })
        .collect()
}

const FAKE_LAYERS: &[(&str, u32, &str)] = &[
    ("lib.rs", 0, "root"),
    ("low/", 1, "low"),
    ("high/", 2, "high"),
];

/// The files each file of a tree refers to, by path.
fn referenced(files: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for &(a, b) in references(files).keys() {
        out.entry(files[a].path.clone())
            .or_default()
            .insert(files[b].path.clone());
    }
    out
}

#[test]
fn every_form_of_reference_is_read() {
    let files = tree(&[
        ("lib.rs", "pub mod low;\npub mod high;\n"),
        (
            "low/mod.rs",
            "pub mod a;\npub mod b;\npub mod c;\npub mod d;\npub mod e;\npub mod f;\n",
        ),
        ("low/a.rs", "pub struct A;\n"),
        ("low/b.rs", "pub struct B;\n"),
        ("low/c.rs", "pub fn c() {}\n"),
        ("low/d.rs", "pub fn d() {}\n"),
        ("low/e.rs", "pub fn e() {}\n"),
        ("low/f.rs", "pub fn f() {}\n"),
        ("high/mod.rs", "pub mod x;\npub mod y;\n"),
        (
            "high/x.rs",
            "use crate::{low::{a::A, b::{self as bee}}, high::y};\n\
             pub use super::super::low::c::c;\n\
             fn g() { let _ = bee::B; crate::low::d::d(); y::h(); }\n",
        ),
        (
            "high/y.rs",
            "use crate::low::e;\n\
             pub fn h() { e::e(); super::super::low::f::f() }\n",
        ),
    ]);
    let r = referenced(&files);
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        r["high/x.rs"],
        set(&["low/a.rs", "low/b.rs", "low/c.rs", "low/d.rs", "high/y.rs"])
    );
    assert_eq!(r["high/y.rs"], set(&["low/e.rs", "low/f.rs"]));
    assert!(problems("", &files, Some(FAKE_LAYERS)).is_empty());
}

#[test]
fn tests_comments_and_strings_are_not_references() {
    let files = tree(&[
        ("lib.rs", "pub mod low;\npub mod high;\n"),
        ("low/mod.rs", "pub mod a;\n"),
        (
            "low/a.rs",
            "//! See [`crate::high::x`].\n\
             /* crate::high::x::X */\n\
             pub fn a() -> &'static str { \"crate::high::x::X\" }\n\
             pub fn r() -> &'static str { r#\"use crate::high::x;\"# }\n\
             pub fn ch() -> char { '{' }\n\
             #[cfg(test)]\nmod tests {\n    use crate::high::x::X;\n    fn t() { let _ = X; }\n}\n",
        ),
        ("high/mod.rs", "pub mod x;\n"),
        ("high/x.rs", "pub struct X;\n"),
    ]);
    assert!(!referenced(&files).contains_key("low/a.rs"));
    assert!(problems("", &files, Some(FAKE_LAYERS)).is_empty());
}

#[test]
fn an_import_from_a_higher_layer_fails_with_both_files_and_the_line() {
    let files = tree(&[
        ("lib.rs", "pub mod low;\npub mod high;\n"),
        ("low/mod.rs", "pub mod a;\n"),
        ("low/a.rs", "\n\nuse crate::high::x::X;\npub fn a() {}\n"),
        ("high/mod.rs", "pub mod x;\n"),
        ("high/x.rs", "pub struct X;\n"),
    ]);
    let found = problems("src/", &files, Some(FAKE_LAYERS));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("src/low/a.rs:3 imports from src/high/x.rs, a higher layer")
            && found[0].contains("layer 1 (low)")
            && found[0].contains("layer 2 (high)")
            && found[0].ends_with("use crate::high::x::X;"),
        "{}",
        found[0]
    );
}

#[test]
fn an_import_circle_fails_and_is_printed() {
    let files = tree(&[
        ("lib.rs", "pub mod low;\n"),
        ("low/mod.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("low/a.rs", "use super::b::B;\npub struct A;\n"),
        ("low/b.rs", "pub struct B(crate::low::c::C);\n"),
        (
            "low/c.rs",
            "pub struct C;\nfn f() { let _ = super::a::A; }\n",
        ),
    ]);
    let found = problems("src/", &files, Some(FAKE_LAYERS));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0],
        "import circle (3 files import each other: low/a.rs, low/b.rs, low/c.rs):\n\
         \x20   src/low/a.rs:1 imports src/low/b.rs: use super::b::B;\n\
         \x20   src/low/b.rs:1 imports src/low/c.rs: pub struct B(crate::low::c::C);\n\
         \x20   src/low/c.rs:2 imports src/low/a.rs: fn f() { let _ = super::a::A; }"
    );
    // Without layers (the CLI), the circle is still found.
    assert_eq!(problems("src/", &files, None), found);
}

#[test]
fn a_file_in_no_layer_fails() {
    let files = tree(&[("lib.rs", "pub mod other;\n"), ("other.rs", "")]);
    let found = problems("src/", &files, Some(FAKE_LAYERS));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("src/other.rs is in no layer"),
        "{}",
        found[0]
    );
}
