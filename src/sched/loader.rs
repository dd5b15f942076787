//! Open, configure, load and attach a sched_ext scheduler object. The same
//! path serves the built-in scheduler and a user's `.bpf.o`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use libbpf_rs::{
    ErrorKind, Link, MapCore, MapFlags, Object, ObjectBuilder, OpenObject, ProgramInput,
    ProgramType,
};

use super::SchedError;
use super::btf::{kernel_scx_enums, open_object_vars, section_vars, struct_ops_maps};
use super::exit_info::{UEI_SIZE, parse_uei};
use crate::bpf::intf::sched::{band_stats, cpu_ctx, ctl};
use crate::bpf::intf::{read, to_bytes};
use crate::bpf::libbpf_log;
use crate::bpf::libbpf_log::LoadLog;
use crate::bpf::load_error::last_lines;
use crate::bpf::verifier_log;
use crate::sched_ext::sysfs::Roots;
use crate::snapshot::{ExitInfo, SchedSource, ScxState, Support};

/// The kernel struct a sched_ext scheduler implements.
const SCHED_EXT_OPS: &str = "sched_ext_ops";

/// Settings of the built-in scheduler (a user's object gets none of these).
#[derive(Clone, Debug)]
pub struct BuiltInOptions {
    /// A runnable lower-band task waiting longer than this is served anyway.
    pub starve: Duration,
    pub printk: bool,
}

impl Default for BuiltInOptions {
    fn default() -> Self {
        Self {
            starve: Duration::from_millis(100),
            printk: false,
        }
    }
}

/// A scheduler registered with the kernel. Dropping it unregisters it: the
/// struct_ops link goes first, then the programs and maps.
pub struct Attached {
    extra_links: Vec<Link>,
    ops_link: Option<Link>,
    object: Object,
    pub source: SchedSource,
    /// The name the kernel shows in /sys/kernel/sched_ext/root/ops.
    pub ops_name: String,
    pub attached_at: SystemTime,
    /// Reading, verifying and loading the object.
    pub load_time: Duration,
    /// Registering it (the kernel switches tasks over in this time).
    pub attach_time: Duration,
    uei: Option<UeiLocation>,
    image: Arc<[u8]>,
}

struct UeiLocation {
    data_map: String,
    offset: usize,
}

impl Attached {
    /// The object's bytes as they were loaded. A user's file may have been
    /// rebuilt since, so putting this scheduler back after a failed reload
    /// loads these, not the file.
    pub fn image(&self) -> Arc<[u8]> {
        Arc::clone(&self.image)
    }

    /// The exit the scheduler recorded, once it has exited.
    pub fn exit_info(&self) -> Option<ExitInfo> {
        let loc = self.uei.as_ref()?;
        let map = self
            .object
            .maps()
            .find(|m| m.name().to_string_lossy() == loc.data_map)?;
        let data = map.lookup(&0u32.to_ne_bytes(), MapFlags::ANY).ok()??;
        parse_uei(data.get(loc.offset..loc.offset + UEI_SIZE)?, &self.ops_name)
    }

    /// Unregisters the scheduler and returns the exit it recorded (UNREG for
    /// a plain detach), read after the kernel ran its ops.exit.
    pub fn detach(mut self) -> Option<ExitInfo> {
        self.extra_links.clear();
        drop(self.ops_link.take());
        self.exit_info()
    }

    /// Flips the built-in scheduler's bpf_printk lines on or off without
    /// reloading. `false` when the object has no such switch.
    pub fn set_printk(&self, on: bool) -> bool {
        let Some(map) = self.object.maps().find(|m| m.name() == "ctl") else {
            return false;
        };
        let value = ctl {
            printk_on: u32::from(on),
        };
        map.update(&0u32.to_ne_bytes(), &to_bytes(&value), MapFlags::ANY)
            .is_ok()
    }

    /// Per-CPU (depth, max depth since the last call) from the built-in
    /// scheduler; `None` for objects without its read_depths program.
    pub fn read_depths(&self) -> Option<Vec<(u64, u64)>> {
        // The same count the scheduler's nr_cpus was set from (libbpf caches it).
        let nr_cpus = libbpf_rs::num_possible_cpus().ok()?;
        let prog = self
            .object
            .progs_mut()
            .find(|p| p.name() == "read_depths")?;
        prog.test_run(ProgramInput::default()).ok()?;
        let map = self.object.maps().find(|m| m.name() == "cpu_ctx")?;
        (0..nr_cpus as u32)
            .map(|cpu| {
                let v = map.lookup(&cpu.to_ne_bytes(), MapFlags::ANY).ok()??;
                let c = read::<cpu_ctx>("a cpu_ctx value", &v).ok()?;
                Some((c.depth, c.depth_max))
            })
            .collect()
    }

    /// Per-band counters of the built-in scheduler, summed over CPUs, in
    /// `enum band` order.
    pub fn band_stats(&self) -> Option<Vec<band_stats>> {
        let map = self.object.maps().find(|m| m.name() == "band_stats")?;
        (0..map.max_entries())
            .map(|band| {
                let per_cpu = map
                    .lookup_percpu(&band.to_ne_bytes(), MapFlags::ANY)
                    .ok()??;
                let mut sum = band_stats {
                    enqueued: 0,
                    dispatched: 0,
                    wait_ns: 0,
                    rescued: 0,
                    preempt_kicks: 0,
                };
                for v in per_cpu {
                    let s = read::<band_stats>("a band_stats value", &v).ok()?;
                    sum.enqueued += s.enqueued;
                    sum.dispatched += s.dispatched;
                    sum.wait_ns += s.wait_ns;
                    sum.rescued += s.rescued;
                    sum.preempt_kicks += s.preempt_kicks;
                }
                Some(sum)
            })
            .collect()
    }
}

/// A scheduler object loaded into the kernel (verified, maps created) but
/// not registered yet. Reload prepares one of these while the old scheduler
/// still runs, so a broken object never leaves the machine on fair and the
/// switch itself is only a detach and an attach.
pub struct Loaded {
    object: Object,
    ops_map: String,
    source: SchedSource,
    load_time: Duration,
    printk: bool,
    image: Arc<[u8]>,
}

/// Loads `source`: reads it, checks it is a sched_ext scheduler, fills
/// kernel enum values and our settings, and runs the verifier.
pub fn load(
    source: &SchedSource,
    options: &BuiltInOptions,
    roots: &Roots,
) -> Result<Loaded, SchedError> {
    // What the object is comes first: a user on a kernel without sched_ext
    // learns that their object would not do either.
    let image = source.read()?;
    load_image(source, image.into(), options, roots)
}

/// Loads `image`, the bytes `source` held when it was read (see
/// `Attached::image`).
pub fn load_image(
    source: &SchedSource,
    image: Arc<[u8]>,
    options: &BuiltInOptions,
    roots: &Roots,
) -> Result<Loaded, SchedError> {
    let started = Instant::now();
    let what = source.describe();
    libbpf_log::clear();
    let mut open = ObjectBuilder::default()
        .name(source.object_name())
        .and_then(|b| b.open_memory(&image))
        .map_err(|e| SchedError::Open {
            what: what.clone(),
            detail: e.to_string(),
            log: libbpf_log::take(),
        })?;
    let ops_map = sched_ext_ops_map(&open, &what)?;
    if let Support::Unsupported { reason } = roots.read_support()? {
        return Err(SchedError::Unsupported { reason });
    }

    fill_kernel_enums(&mut open);
    if *source == SchedSource::BuiltIn {
        configure_built_in(&mut open, options).map_err(|source| SchedError::Configure {
            what: what.clone(),
            source,
        })?;
    }

    libbpf_log::clear();
    let object = open.load().map_err(|e| load_error(&what, &e))?;
    Ok(Loaded {
        object,
        ops_map,
        source: source.clone(),
        load_time: started.elapsed(),
        printk: options.printk,
        image,
    })
}

/// The object's sched_ext_ops map. Attaching any other struct_ops registers
/// it with its own subsystem (a TCP congestion control, say), so an object
/// without one is refused before anything reaches the kernel.
fn sched_ext_ops_map(open: &OpenObject, what: &str) -> Result<String, SchedError> {
    let maps = struct_ops_maps(open);
    if let Some(m) = maps.iter().find(|m| m.kind == SCHED_EXT_OPS) {
        return Ok(m.map.clone());
    }
    let mut kinds: Vec<&str> = maps.iter().map(|m| m.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.is_empty() {
        return Err(SchedError::NoStructOps {
            what: what.to_string(),
        });
    }
    Err(SchedError::NotSchedExt {
        what: what.to_string(),
        kinds: kinds.join(" and "),
    })
}

impl Loaded {
    /// Registers the scheduler with the kernel.
    pub fn attach(mut self, roots: &Roots) -> Result<Attached, SchedError> {
        let started = Instant::now();
        let what = self.source.describe();
        ensure_kernel_free(roots)?;
        let ops_link = attach_struct_ops(&mut self.object, &self.ops_map, &what, roots)?;
        let extra_links = attach_other_programs(&self.object, &what)?;
        let uei = find_uei(&self.object);
        let ops_name = match roots.read_support() {
            Ok(Support::Supported(s)) => s.ops,
            _ => None,
        }
        .unwrap_or_else(|| self.source.object_name());
        let attached = Attached {
            extra_links,
            ops_link: Some(ops_link),
            object: self.object,
            source: self.source,
            ops_name,
            attached_at: SystemTime::now(),
            load_time: self.load_time,
            attach_time: started.elapsed(),
            uei,
            image: self.image,
        };
        if attached.source == SchedSource::BuiltIn {
            attached.set_printk(self.printk);
        }
        Ok(attached)
    }
}

/// The kernel must have sched_ext and no scheduler registered.
fn ensure_kernel_free(roots: &Roots) -> Result<(), SchedError> {
    match roots.read_support()? {
        Support::Unsupported { reason } => Err(SchedError::Unsupported { reason }),
        Support::Supported(s) if s.state != ScxState::Disabled => Err(SchedError::Busy {
            ops: s
                .ops
                .unwrap_or_else(|| format!("state {}", s.state.as_str())),
        }),
        Support::Supported(_) => Ok(()),
    }
}

/// Objects built with the scx headers read kernel enum values (DSQ ids, slice
/// lengths, flags) from `__SCX_*` rodata variables the loader must fill; left
/// at zero, a scheduler would run with slice 0 and wrong DSQ ids.
fn fill_kernel_enums(open: &mut OpenObject) {
    let enums = kernel_scx_enums();
    let writes: Vec<(usize, Vec<u8>)> = open_object_vars(open, ".rodata")
        .into_iter()
        .filter_map(|var| {
            let value = *enums.get(var.name.strip_prefix("__")?)?;
            let bytes = match var.size {
                8 => value.to_ne_bytes().to_vec(),
                4 => (value as u32).to_ne_bytes().to_vec(),
                _ => return None,
            };
            Some((var.offset, bytes))
        })
        .collect();
    write_rodata(open, &writes);
    // Feature bits some scx library code consults; absent in most objects.
    let _ = scx_utils::compat::set_lib_features(open);
}

/// Why the built-in scheduler's settings could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    #[error("counting CPUs: {0}")]
    CountCpus(#[source] libbpf_rs::Error),
    #[error("built-in scheduler lacks the setting {0}: rebuild scxtop")]
    MissingSetting(&'static str),
}

fn configure_built_in(
    open: &mut OpenObject,
    options: &BuiltInOptions,
) -> Result<(), ConfigureError> {
    let nr_cpus = libbpf_rs::num_possible_cpus().map_err(ConfigureError::CountCpus)?;
    let starve_ns = u64::try_from(options.starve.as_nanos()).unwrap_or(u64::MAX);
    let vars = open_object_vars(open, ".rodata");
    let offset_of = |name: &'static str| -> Result<usize, ConfigureError> {
        vars.iter()
            .find(|v| v.name == name)
            .map(|v| v.offset)
            .ok_or(ConfigureError::MissingSetting(name))
    };
    let writes = vec![
        (
            offset_of("nr_cpus")?,
            (nr_cpus as u32).to_ne_bytes().to_vec(),
        ),
        (offset_of("starve_ns")?, starve_ns.to_ne_bytes().to_vec()),
    ];
    write_rodata(open, &writes);
    Ok(())
}

fn write_rodata(open: &mut OpenObject, writes: &[(usize, Vec<u8>)]) {
    for mut map in open.maps_mut() {
        if !map.name().to_string_lossy().ends_with(".rodata") {
            continue;
        }
        if let Some(data) = map.initial_value_mut() {
            for (offset, bytes) in writes {
                if let Some(slot) = data.get_mut(*offset..offset + bytes.len()) {
                    slot.copy_from_slice(bytes);
                }
            }
        }
    }
}

fn load_error(what: &str, err: &libbpf_rs::Error) -> SchedError {
    let mut log = libbpf_log::take();
    match verifier_log::find(&log.lines) {
        Some(failure) => {
            log.error_line = Some(failure.error_line);
            SchedError::Verifier {
                what: what.to_string(),
                failure: Box::new(failure),
                log,
            }
        }
        None if err.kind() == ErrorKind::PermissionDenied => SchedError::Permission {
            what: what.to_string(),
        },
        None => SchedError::Load {
            what: what.to_string(),
            detail: format!("{err}{}", last_lines(&tail_of(&log, 3))),
            log,
        },
    }
}

fn tail_of(log: &LoadLog, n: usize) -> Vec<String> {
    log.lines[log.lines.len().saturating_sub(n)..].to_vec()
}

fn attach_struct_ops(
    object: &mut Object,
    ops_map: &str,
    what: &str,
    roots: &Roots,
) -> Result<Link, SchedError> {
    let mut map = object
        .maps_mut()
        .find(|m| m.name().to_string_lossy() == ops_map)
        .ok_or_else(|| SchedError::NoStructOps {
            what: what.to_string(),
        })?;
    libbpf_log::clear();
    map.attach_struct_ops().map_err(|e| match e.kind() {
        ErrorKind::PermissionDenied => SchedError::Permission {
            what: what.to_string(),
        },
        _ => match ensure_kernel_free(roots) {
            // Lost a race with another loader.
            Err(busy @ SchedError::Busy { .. }) => busy,
            _ => {
                let log = libbpf_log::take();
                SchedError::Attach {
                    what: what.to_string(),
                    // `#` adds the errno: the kernel's refusal of an ops
                    // field (a timeout too long, say) logs nothing else.
                    detail: format!("{e:#}{}", last_lines(&tail_of(&log, 2))),
                    log,
                }
            }
        },
    })
}

/// A scheduler may carry tracing programs beside its struct_ops; attach them
/// as scx's loaders do. Syscall programs are run on demand, not attached.
fn attach_other_programs(object: &Object, what: &str) -> Result<Vec<Link>, SchedError> {
    object
        .progs_mut()
        .filter(|p| {
            p.autoload() && !matches!(p.prog_type(), ProgramType::StructOps | ProgramType::Syscall)
        })
        .map(|p| {
            libbpf_log::clear();
            p.attach().map_err(|e| SchedError::Attach {
                what: format!("{what} program {}", p.name().to_string_lossy()),
                detail: e.to_string(),
                log: libbpf_log::take(),
            })
        })
        .collect()
}

fn find_uei(object: &Object) -> Option<UeiLocation> {
    let btf = object.btf().ok()??;
    let var = section_vars(&btf, ".data")
        .into_iter()
        .find(|v| v.name == "uei")?;
    let data_map = object
        .maps()
        .map(|m| m.name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".data"))?;
    Some(UeiLocation {
        data_map,
        offset: var.offset,
    })
}
