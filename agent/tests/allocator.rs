//! The learner's allocator setting: freed tensor-sized blocks are reused, not unmapped and faulted in again.
//! One test in its own binary: it counts the process's page faults, which other tests would disturb.

/// Minor page faults of this process so far.
fn minor_faults() -> i64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which is in parentheses): state is field 3, minflt field 10.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    rest.split_whitespace().nth(7).expect("minflt").parse().expect("minflt number")
}

/// One "update cycle" of allocations: 16 activation-sized blocks of 1 MiB, touched, then all freed, `n` times.
fn churn(n: usize) {
    for i in 0..n {
        let blocks: Vec<Vec<u8>> = (0..16)
            .map(|_| {
                let mut v = vec![0u8; 1 << 20];
                for k in (0..v.len()).step_by(4096) {
                    v[k] = i as u8;
                }
                v
            })
            .collect();
        std::hint::black_box(&blocks);
    }
}

#[test]
fn freed_blocks_are_reused_without_faulting_their_pages_in_again() {
    assert!(agent::alloc::keep_freed_memory(), "glibc takes the mmap and trim thresholds");
    churn(2); // first touch of the heap pages
    let before = minor_faults();
    churn(50);
    let faults = minor_faults() - before;
    // Without the setting the freed 16 MiB is unmapped or trimmed and each round faults 4096 pages in again
    // (about 200 000 faults); with it, the pages stay mapped and are reused.
    assert!(faults < 4096, "{faults} minor faults over 50 rounds of 16 × 1 MiB blocks");
}
