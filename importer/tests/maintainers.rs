//! MAINTAINERS parsing and path matching: on a small real excerpt (always), and against
//! `scripts/get_maintainer.pl` itself on a real kernel tree (skipped when none can be had).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{linux_tree, perl_subsystems};
use treewide_importer::maintainers::{self, Maintainers};

mod common;

const EXCERPT: &str = include_str!("data/MAINTAINERS.excerpt");

fn excerpt() -> Maintainers {
    maintainers::parse(EXCERPT).expect("excerpt parses")
}

fn names<'a>(m: &'a Maintainers, path: &str, content: Option<&str>) -> Vec<&'a str> {
    m.subsystems_for(path, content)
        .into_iter()
        .map(|e| e.name.as_str())
        .collect()
}

#[test]
fn excerpt_parses_header_entries_and_fields() {
    let m = excerpt();
    assert_eq!(m.entries.len(), 18);
    assert!(m.header.iter().any(|l| l == "Maintainers List"));
    assert!(m.stray_lines.is_empty());
    let e = &m.entries[0];
    assert_eq!(e.name, "3C59X NETWORK DRIVER");
    assert_eq!(e.maintainers[0].email, "klassert@kernel.org");
    assert_eq!(e.status.as_deref(), Some("Odd Fixes"));
    let find = |name: &str| m.entries.iter().find(|e| e.name == name).expect(name);
    let bpf = find("BPF [GENERAL] (Safe Dynamic Programs and Tools)");
    assert!(bpf.other.iter().any(|f| f.letter == 'Q'));
    assert!(bpf.reviewers.len() > 3);
    assert_eq!(find("BPF [MISC]").keywords, ["(?:\\b|_)bpf(?:\\b|_)"]);
    assert_eq!(find("BPF [MISC]").maintainers, []);
    assert_eq!(
        find("COMMON CLK FRAMEWORK").excludes,
        ["drivers/clk/clkdev.c"]
    );
    assert_eq!(find("ZSTD").file_regexes, ["zstd"]);
    for e in &m.entries {
        assert!(
            e.unparsed_people.is_empty(),
            "{}: {:?}",
            e.name,
            e.unparsed_people
        );
    }
    let specs = m.to_specs();
    let rest = specs
        .iter()
        .find(|s| s.name == "THE REST")
        .expect("THE REST");
    assert_eq!(rest.lists, ["linux-kernel@vger.kernel.org"]);
    assert_eq!(rest.status.as_deref(), Some("Buried alive in reporters"));
}

// Expected lists below are get_maintainer.pl's own output with `--mpath` pointing at the excerpt
// (run from the 6.1 tree root), minus the sections it adds from K: matches on the file's content
// where a test passes no content.

#[test]
fn only_the_rest_matches_a_top_level_file() {
    assert_eq!(names(&excerpt(), "README", None), ["THE REST"]);
}

#[test]
fn deeper_patterns_rank_first() {
    let m = excerpt();
    assert_eq!(
        names(&m, "drivers/net/ethernet/intel/e1000e/netdev.c", None),
        ["INTEL ETHERNET DRIVERS", "NETWORKING DRIVERS", "THE REST"]
    );
    assert_eq!(
        names(&m, "mm/slub.c", None),
        ["SLAB ALLOCATOR", "MEMORY MANAGEMENT", "THE REST"]
    );
}

#[test]
fn exclude_patterns_drop_a_section() {
    let m = excerpt();
    assert_eq!(
        names(&m, "drivers/clk/clk.c", None),
        ["COMMON CLK FRAMEWORK", "THE REST"]
    );
    // COMMON CLK FRAMEWORK has F: drivers/clk/ and X: drivers/clk/clkdev.c.
    assert_eq!(names(&m, "drivers/clk/clkdev.c", None), ["THE REST"]);
}

#[test]
fn file_name_regexes_match_anywhere_in_the_path() {
    let m = excerpt();
    assert_eq!(
        names(&m, "drivers/clk/sunxi-ng/ccu-sun8i-h3.c", None),
        [
            "COMMON CLK FRAMEWORK",
            "ARM/Allwinner sunXi SoC support",
            "THE REST"
        ]
    );
}

#[test]
fn keywords_in_the_content_add_sections_last() {
    let m = excerpt();
    let content = "static int f(void) { return ptp_clock_index(NULL) + bpf_prog_run(p); }";
    // PTP's K: line comes later in the file but first: the script sorts line indices as strings.
    assert_eq!(
        names(&m, "drivers/misc/foo.c", Some(content)),
        ["THE REST", "PTP HARDWARE CLOCK SUPPORT", "BPF [MISC]"]
    );
}

#[test]
fn glob_classes_and_question_marks_match_like_the_script() {
    let m = excerpt();
    assert_eq!(
        names(&m, "drivers/clk/clk-scmi.c", None),
        [
            "SYSTEM CONTROL & POWER/MANAGEMENT INTERFACE (SCPI/SCMI) Message Protocol drivers",
            "COMMON CLK FRAMEWORK",
            "THE REST"
        ]
    );
    assert_eq!(
        names(&m, "drivers/input/misc/da7280.c", None),
        ["DIALOG SEMICONDUCTOR DRIVERS", "THE REST"]
    );
}

#[test]
fn keyword_and_file_match_of_one_section_is_reported_once() {
    let m = excerpt();
    assert_eq!(
        names(&m, "lib/zstd/common/entropy_common.c", Some("zstd")),
        ["ZSTD", "THE REST"]
    );
}

// --- real tree -------------------------------------------------------------------------------

/// Files per top-level directory: spread over the tree, headers included.
const QUOTAS: &[(&str, usize)] = &[
    ("drivers", 90),
    ("arch", 40),
    ("fs", 30),
    ("net", 30),
    ("include", 30),
    ("sound", 15),
    ("tools", 15),
    ("kernel", 15),
    ("lib", 10),
    ("Documentation", 10),
    ("mm", 8),
    ("block", 6),
    ("security", 5),
    ("scripts", 5),
    ("io_uring", 4),
    ("crypto", 4),
    ("samples", 2),
    ("virt", 2),
    ("init", 2),
    ("ipc", 2),
    ("rust", 2),
    ("certs", 1),
    ("usr", 1),
];

/// Paths that exercise N:, K:, X:, `[..]`/`?` globs and directory patterns without `/`.
const PICKED: &[&str] = &[
    "MAINTAINERS",
    "README",
    "Makefile",
    "arch/arm/mach-sunxi/sunxi.c",
    "drivers/gpu/drm/tegra/drm.c",
    "kernel/bpf/verifier.c",
    "include/linux/bpf.h",
    "tools/testing/selftests/bpf/test_verifier.c",
    "drivers/net/ethernet/intel/e1000e/netdev.c",
    "mm/slub.c",
    "net/ipv6/route.c",
    "net/bluetooth/hci_core.c",
    "drivers/soc/mediatek/mtk-pmic-wrap.c",
    "arch/riscv/kernel/setup.c",
    "drivers/clk/clk-scmi.c",
    "drivers/input/misc/da7280.c",
    "drivers/scsi/3w-9xxx.c",
    "drivers/power/supply/axp288_charger.c",
    "lib/zstd/common/entropy_common.c",
    "drivers/net/phy/phylink.c",
    "drivers/hwmon/lm75.c",
    "drivers/ptp/ptp_clock.c",
    "drivers/net/ethernet/broadcom/bnxt/bnxt_xdp.c",
    "drivers/gpu/drm/amd/amdgpu/amdgpu_amdkfd.c",
];

fn sample(tree: &Path) -> Vec<String> {
    let mut out: Vec<String> = PICKED
        .iter()
        .filter(|p| tree.join(p).is_file())
        .map(|p| (*p).to_owned())
        .collect();
    for &(dir, quota) in QUOTAS {
        let mut files: Vec<String> = walkdir::WalkDir::new(tree.join(dir))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| {
                let rel = e.path().strip_prefix(tree).ok()?;
                rel.to_str().map(str::to_owned)
            })
            .collect();
        files.sort();
        let stride = (files.len() / quota).max(1);
        out.extend(
            files
                .into_iter()
                .skip(stride / 2)
                .step_by(stride)
                .take(quota),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// Whether `perl` equals `ours` once runs of equal depth (which the script orders by Perl's
/// randomised hash order) are compared as sets.
fn equal_up_to_ties(ours: &[(&str, Option<i32>)], perl: &[String]) -> bool {
    if ours.len() != perl.len() {
        return false;
    }
    let mut i = 0;
    while i < ours.len() {
        let mut j = i + 1;
        while j < ours.len() && ours[j].1.is_some() && ours[j].1 == ours[i].1 {
            j += 1;
        }
        let mut a: Vec<&str> = ours[i..j].iter().map(|o| o.0).collect();
        let mut b: Vec<&str> = perl[i..j].iter().map(String::as_str).collect();
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            return false;
        }
        i = j;
    }
    true
}

#[test]
fn real_tree_matches_get_maintainer_pl() {
    let tree = match linux_tree() {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIPPED: no Linux tree ({why})");
            return;
        }
    };
    if Command::new("perl").arg("-v").output().is_err() {
        eprintln!("SKIPPED: perl is not installed");
        return;
    }
    let t = Instant::now();
    let m = maintainers::from_tree(&tree).expect("MAINTAINERS parses");
    let parse_time = t.elapsed();
    let odd: Vec<String> = m
        .entries
        .iter()
        .flat_map(|e| {
            e.unparsed_people
                .iter()
                .map(move |f| format!("{}: {}", e.name, f.value))
        })
        .collect();
    eprintln!(
        "MAINTAINERS: {} entries, {} header lines, stray lines {:?}, M:/R: kept raw {odd:?}",
        m.entries.len(),
        m.header.len(),
        m.stray_lines
    );
    let files = sample(&tree);
    assert!(files.len() >= 300, "sample has only {} files", files.len());
    let contents: Vec<String> = files
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(tree.join(f)).unwrap()).into_owned())
        .collect();

    let t = Instant::now();
    let ours: Vec<Vec<(&str, Option<i32>)>> = files
        .iter()
        .zip(&contents)
        .map(|(f, c)| {
            m.ranked(f, Some(c))
                .into_iter()
                .map(|(e, d)| (m.entries[e].name.as_str(), d))
                .collect()
        })
        .collect();
    let ours_time = t.elapsed();

    let t = Instant::now();
    perl_subsystems(&tree, "mm/slub.c");
    let one_perl = t.elapsed();

    let t = Instant::now();
    let next = AtomicUsize::new(0);
    let perl: Mutex<Vec<Option<Vec<String>>>> = Mutex::new(vec![None; files.len()]);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(f) = files.get(i) else { break };
                let got = perl_subsystems(&tree, f);
                perl.lock().unwrap()[i] = Some(got);
            });
        }
    });
    let perl_time = t.elapsed();
    let perl: Vec<Vec<String>> = perl.into_inner().unwrap().into_iter().flatten().collect();

    let mut exact = 0;
    let mut tied = Vec::new();
    let mut disagreements = Vec::new();
    for ((f, o), p) in files.iter().zip(&ours).zip(&perl) {
        let names: Vec<&str> = o.iter().map(|x| x.0).collect();
        if names == *p {
            exact += 1;
        } else if equal_up_to_ties(o, p) {
            tied.push(f.as_str());
        } else {
            disagreements.push(format!("{f}:\n  ours: {names:?}\n  perl: {p:?}"));
        }
    }
    let agree = files.len() - disagreements.len();
    eprintln!(
        "get_maintainer.pl agreement: {agree} of {} files ({exact} in identical order, the rest \
         differ only inside equal-depth ties the script orders at random: {tied:?})",
        files.len()
    );

    // Path-only mapping of every file in the tree, for scale.
    let all: Vec<String> = walkdir::WalkDir::new(&tree)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| Some(e.path().strip_prefix(&tree).ok()?.to_str()?.to_owned()))
        .collect();
    let t = Instant::now();
    let mapped: usize = all.iter().map(|f| m.subsystems_for(f, None).len()).sum();
    let all_time = t.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "timing: parse MAINTAINERS {:.1} ms; map {} sample files with K: content {:.1} ms; \
         one get_maintainer.pl call {:.0} ms; {} perl calls on {threads} threads {:.1} s; \
         path-only map of all {} tree files ({mapped} hits) {:.1} ms",
        ms(parse_time),
        files.len(),
        ms(ours_time),
        ms(one_perl),
        files.len(),
        perl_time.as_secs_f64(),
        all.len(),
        ms(all_time),
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// Files of the iov_iter campaigns' subsystems and a few that exercise ties (two sections
/// with the same depth), X: exclusions, N: regexes, K: keywords and THE REST alone.
const WHY_FILES: &[&str] = &[
    "fs/ceph/file.c",
    "net/ceph/messenger.c",
    "block/bio.c",
    "drivers/target/target_core_file.c",
    "drivers/vhost/scsi.c",
    "lib/iov_iter.c",
    "fs/smb/client/file.c",
    "fs/cifs/file.c",
    "drivers/nvme/host/tcp.c",
    "include/linux/uio.h",
    "init/main.c",
    "net/sunrpc/svcsock.c",
    "include/linux/bpf.h",
    "drivers/clk/clkdev.c",
    "drivers/char/random.c",
    "arch/arm/mach-sunxi/sunxi.c",
    "kernel/bpf/verifier.c",
];

/// The section blocks `get_maintainer.pl --sections FILE` prints: (name, field lines).
fn perl_sections(tree: &Path, file: &str) -> Vec<(String, Vec<String>)> {
    let out = Command::new("perl")
        .args([
            "scripts/get_maintainer.pl",
            "--nogit",
            "--nogit-fallback",
            "--sections",
            "-f",
            file,
        ])
        .current_dir(tree)
        .output()
        .expect("run perl");
    assert!(
        out.status.success(),
        "get_maintainer.pl --sections {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| {
            let mut lines = b.lines().map(str::to_owned);
            let name = lines.next().unwrap_or_default();
            (name, lines.collect())
        })
        .collect()
}

#[test]
fn why_agrees_with_get_maintainer_pl_sections_on_real_files() {
    let tree = match linux_tree() {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIPPED: no Linux tree ({why})");
            return;
        }
    };
    if Command::new("perl").arg("-v").output().is_err() {
        eprintln!("SKIPPED: perl is not installed");
        return;
    }
    let m = maintainers::from_tree(&tree).expect("MAINTAINERS parses");
    let files: Vec<&str> = WHY_FILES
        .iter()
        .copied()
        .filter(|f| tree.join(f).is_file())
        .collect();
    assert!(files.len() >= 12, "only {} of the files exist", files.len());
    let (mut agree, mut ties, mut excluded, mut keyword) = (0, 0, 0, 0);
    let mut disagreements = Vec::new();
    for f in &files {
        let content = String::from_utf8_lossy(&std::fs::read(tree.join(f)).unwrap()).into_owned();
        let why = m.explain(f, Some(&content));
        // --sections lists the sections matched by path; K: ones it leaves out.
        let ours: Vec<(&str, Option<i32>)> = why
            .iter()
            .filter(|s| s.rank.is_some() && s.depth.is_some())
            .map(|s| (m.entries[s.entry].name.as_str(), s.depth))
            .collect();
        let perl = perl_sections(&tree, f);
        let perl_names: Vec<String> = perl.iter().map(|(n, _)| n.clone()).collect();
        if !equal_up_to_ties(&ours, &perl_names) {
            disagreements.push(format!("{f}:\n  ours: {ours:?}\n  perl: {perl_names:?}"));
            continue;
        }
        // Every line we say matched is a line of that section as the script prints it.
        for s in why.iter().filter(|s| s.rank.is_some()) {
            let name = &m.entries[s.entry].name;
            let Some((_, fields)) = perl.iter().find(|(n, _)| n == name) else {
                assert!(
                    s.depth.is_none(),
                    "{f}: {name} listed by path but not by perl"
                );
                keyword += 1;
                continue;
            };
            for l in &s.matched {
                assert!(
                    fields.contains(&l.to_string()),
                    "{f}: {name}: {l} is not among {fields:?}"
                );
            }
        }
        ties += usize::from(why.iter().any(|s| s.tied));
        excluded += usize::from(why.iter().any(|s| s.rank.is_none()));
        agree += 1;
    }
    eprintln!(
        "treewide maintainers --why agrees with get_maintainer.pl --sections on {agree} of {} \
         real files (set and order, ties compared as sets; {ties} with a tie, {excluded} with an \
         X: exclusion, {keyword} K:-only sections shown that --sections leaves out)",
        files.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(
        ties >= 2 && excluded >= 2 && keyword >= 1,
        "the odd cases were met"
    );
}
