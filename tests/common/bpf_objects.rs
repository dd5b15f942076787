//! The BPF objects a process holds, as /proc/PID/fdinfo shows them, and
//! whether the kernel still has one by id.

use std::fs;

use libbpf_rs::libbpf_sys;

/// One descriptor of a BPF object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BpfFd {
    Prog {
        fd: u32,
        id: u32,
    },
    Map {
        fd: u32,
        id: u32,
        map_type: u32,
    },
    Link {
        fd: u32,
        id: u32,
        prog_id: u32,
        /// For raw tracepoint links.
        tp_name: Option<String>,
    },
}

/// BPF_MAP_TYPE_RINGBUF.
pub const RINGBUF: u32 = 27;

/// Every BPF program, map and link descriptor `pid` holds, sorted (BTF
/// descriptors are left out).
pub fn bpf_fds(pid: u32) -> Vec<BpfFd> {
    let mut fds: Vec<BpfFd> = fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let fd = e.file_name().to_str()?.parse().ok()?;
            // A descriptor closed since the listing is not there any more.
            let info = fs::read_to_string(e.path()).ok()?;
            parse(fd, &info)
        })
        .collect();
    fds.sort();
    fds
}

fn parse(fd: u32, info: &str) -> Option<BpfFd> {
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    };
    let num = |key: &str| field(key).and_then(|v| v.parse().ok());
    if field("link_type").is_some() {
        return Some(BpfFd::Link {
            fd,
            id: num("link_id")?,
            prog_id: num("prog_id")?,
            tp_name: field("tp_name"),
        });
    }
    if field("prog_type").is_some() {
        return Some(BpfFd::Prog {
            fd,
            id: num("prog_id")?,
        });
    }
    Some(BpfFd::Map {
        fd,
        id: num("map_id")?,
        map_type: num("map_type")?,
    })
}

/// The raw tracepoint links on `bpf_trace_printk` that `pid` holds.
pub fn printk_links(pid: u32) -> Vec<BpfFd> {
    bpf_fds(pid)
        .into_iter()
        .filter(|f| matches!(f, BpfFd::Link { tp_name: Some(tp), .. } if tp == "bpf_trace_printk"))
        .collect()
}

/// Whether the kernel still has the program with this id (anyone's).
pub fn prog_exists(id: u32) -> bool {
    // SAFETY: takes an integer and returns a new descriptor or an error.
    let fd = unsafe { libbpf_sys::bpf_prog_get_fd_by_id(id) };
    close_if_open(fd)
}

/// Whether the kernel still has the link with this id (anyone's).
pub fn link_exists(id: u32) -> bool {
    // SAFETY: takes an integer and returns a new descriptor or an error.
    let fd = unsafe { libbpf_sys::bpf_link_get_fd_by_id(id) };
    close_if_open(fd)
}

fn close_if_open(fd: i32) -> bool {
    if fd < 0 {
        return false;
    }
    // SAFETY: `fd` was just opened for us and nothing else uses it.
    unsafe { libc::close(fd) };
    true
}
