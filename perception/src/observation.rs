//! Observation assembly for the actor: the newest frame of each camera and the newest arm state, paired within a
//! time tolerance, or a typed error that reports every input's age.

use crate::decode::to_rgb8;
use crate::error::{AssemblyError, InputAge, PerceptionError};
use bus::{Bus, Subscriber};
use interfaces::CellConfig;
use interfaces::keys::{ARM_STATE, FRAME};
use interfaces::msg::{ArmState, Frame};
use interfaces::time::{Clock, Stamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How fresh and how close together the inputs of an observation must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObservationTolerance {
    /// Largest age of any input (now − its stamp) at assembly.
    pub max_age: Duration,
    /// Largest spread between the oldest and the newest input stamp.
    pub max_skew: Duration,
}

impl ObservationTolerance {
    /// The default for a cell: two frame periods of its slowest camera plus 20 ms of transport, for both the
    /// age and the skew (at 30 Hz: 86.7 ms). Without cameras: 20 ms.
    pub fn for_cell(cfg: &CellConfig) -> Self {
        let slowest = cfg.cameras.iter().map(|c| 1.0 / c.fps).fold(0.0, f64::max);
        let t = Duration::from_secs_f64(2.0 * slowest + 0.020);
        Self { max_age: t, max_skew: t }
    }
}

/// One observation's raw inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Stamp of the newest input.
    pub stamp: Stamp,
    /// One RGB8 frame per camera, in the assembler's camera order.
    pub frames: Vec<Frame>,
    /// The arm state.
    pub arm: ArmState,
    /// Age of each input at assembly (cameras, then `arm_state`).
    pub ages: Vec<InputAge>,
}

/// The newest input of each kind.
#[derive(Debug)]
struct Inputs {
    cameras: Vec<String>,
    frames: Vec<Option<Frame>>,
    arm: Option<ArmState>,
}

impl Inputs {
    fn offer_frame(&mut self, frame: Frame) {
        if let Some(i) = self.cameras.iter().position(|c| *c == frame.camera) {
            let held = &mut self.frames[i];
            if held.as_ref().is_none_or(|h| frame.header.stamp_ns > h.header.stamp_ns) {
                *held = Some(frame);
            }
        }
    }
    fn offer_arm_state(&mut self, state: ArmState) {
        if self.arm.as_ref().is_none_or(|a| state.header.stamp_ns > a.header.stamp_ns) {
            self.arm = Some(state);
        }
    }
}

/// The thread (`observation-inputs`) that drains the subscriptions into [`Inputs`] so that no queue overflows
/// however rarely the actor assembles.
#[derive(Debug)]
struct Feeder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(inputs: &Mutex<Inputs>) -> MutexGuard<'_, Inputs> {
    inputs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps the newest frame of each camera and the newest arm state, and pairs them on request.
///
/// Ages are measured with the injected clock, which must be the clock the inputs are stamped with (the host's
/// monotonic clock for real cells, the simulator's clock for simulated ones).
pub struct ObservationAssembler {
    inputs: Arc<Mutex<Inputs>>,
    tolerance: ObservationTolerance,
    clock: Arc<dyn Clock>,
    _feeder: Option<Feeder>,
}

impl std::fmt::Debug for ObservationAssembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservationAssembler")
            .field("cameras", &lock(&self.inputs).cameras)
            .field("tolerance", &self.tolerance)
            .field("subscribed", &self._feeder.is_some())
            .finish()
    }
}

impl ObservationAssembler {
    /// An assembler fed by hand ([`offer_frame`](Self::offer_frame), [`offer_arm_state`](Self::offer_arm_state)).
    pub fn new(cameras: Vec<String>, tolerance: ObservationTolerance, clock: Arc<dyn Clock>) -> Self {
        let frames = vec![None; cameras.len()];
        let inputs = Arc::new(Mutex::new(Inputs { cameras, frames, arm: None }));
        Self { inputs, tolerance, clock, _feeder: None }
    }

    /// An assembler fed from the bus (every camera's `frame` topic and the controller's arm state) by a thread
    /// of its own, `observation-inputs`, which ends when the assembler is dropped.
    pub fn subscribe(
        bus: &Bus,
        cameras: Vec<String>,
        tolerance: ObservationTolerance,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PerceptionError> {
        let mut a = Self::new(cameras, tolerance, clock);
        let frames: Subscriber<Frame> = bus.subscribe(FRAME, Some("*"))?;
        let arm: Subscriber<ArmState> = bus.subscribe(ARM_STATE, None)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (inputs, halt) = (a.inputs.clone(), stop.clone());
        let thread = "observation-inputs".to_string();
        let handle = std::thread::Builder::new()
            .name(thread.clone())
            .spawn(move || {
                while !halt.load(Ordering::Acquire) {
                    let frame = frames.recv_timeout(Duration::from_millis(5));
                    let state = arm.latest();
                    let mut i = lock(&inputs);
                    if let Some(f) = frame {
                        i.offer_frame(f.msg);
                    }
                    while let Some(f) = frames.try_recv() {
                        i.offer_frame(f.msg);
                    }
                    if let Some(s) = state {
                        i.offer_arm_state(s.msg);
                    }
                }
            })
            .map_err(|e| PerceptionError::Thread { thread, reason: e.to_string() })?;
        a._feeder = Some(Feeder { stop, thread: Some(handle) });
        Ok(a)
    }

    /// [`subscribe`](Self::subscribe) for every camera of `cfg` with [`ObservationTolerance::for_cell`].
    pub fn for_cell(bus: &Bus, cfg: &CellConfig, clock: Arc<dyn Clock>) -> Result<Self, PerceptionError> {
        let cameras = cfg.cameras.iter().map(|c| c.name.clone()).collect();
        Self::subscribe(bus, cameras, ObservationTolerance::for_cell(cfg), clock)
    }

    /// The tolerance in force.
    pub fn tolerance(&self) -> ObservationTolerance {
        self.tolerance
    }

    /// Keeps `frame` if it belongs to a known camera and is newer than the one held.
    pub fn offer_frame(&mut self, frame: Frame) {
        lock(&self.inputs).offer_frame(frame);
    }

    /// Keeps `state` if it is newer than the one held.
    pub fn offer_arm_state(&mut self, state: ArmState) {
        lock(&self.inputs).offer_arm_state(state);
    }

    /// Pairs the newest inputs. Succeeds when every input is present, none is older than `max_age` and their
    /// stamps lie within `max_skew`; otherwise returns [`AssemblyError::OutOfTolerance`] with every input's age.
    /// JPEG frames are decoded to RGB8 (a corrupt one is [`AssemblyError::BadFrame`]).
    pub fn assemble(&mut self) -> Result<Observation, AssemblyError> {
        let now = self.clock.now();
        let (frames, arm) = {
            let i = lock(&self.inputs);
            let ages = ages(&i, now);
            let stamps: Option<Vec<Stamp>> = i
                .frames
                .iter()
                .map(|f| f.as_ref().map(|f| f.header.stamp_ns))
                .chain(std::iter::once(i.arm.as_ref().map(|a| a.header.stamp_ns)))
                .collect();
            let skew = stamps
                .as_ref()
                .and_then(|s| Some(Duration::from_nanos(s.iter().max()?.0 - s.iter().min()?.0)))
                .unwrap_or_default();
            let fresh = ages.iter().all(|a| a.age.is_some_and(|a| a <= self.tolerance.max_age));
            match (i.frames.iter().cloned().collect::<Option<Vec<Frame>>>(), i.arm.clone()) {
                (Some(frames), Some(arm)) if fresh && skew <= self.tolerance.max_skew => ((frames, ages), arm),
                _ => {
                    return Err(AssemblyError::OutOfTolerance {
                        ages,
                        skew,
                        max_age: self.tolerance.max_age,
                        max_skew: self.tolerance.max_skew,
                    });
                }
            }
        };
        let (frames, ages) = frames;
        let stamp = frames.iter().map(|f| f.header.stamp_ns).chain(std::iter::once(arm.header.stamp_ns)).max();
        let frames = frames.into_iter().map(|f| to_rgb8(f).map_err(Box::new)).collect::<Result<Vec<_>, _>>()?;
        Ok(Observation { stamp: stamp.unwrap_or_default(), frames, arm, ages })
    }

    /// Retries [`assemble`](Self::assemble) until it succeeds or `timeout` passes (then returns the last error).
    pub fn assemble_within(&mut self, timeout: Duration) -> Result<Observation, AssemblyError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.assemble() {
                Ok(o) => return Ok(o),
                Err(e @ AssemblyError::BadFrame(_)) => return Err(e),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
}

/// Every input's age at `now`: cameras in order, then the arm state.
fn ages(i: &Inputs, now: Stamp) -> Vec<InputAge> {
    let age = |s: Stamp| Duration::from_nanos(now.0.saturating_sub(s.0));
    let mut ages: Vec<InputAge> = i
        .cameras
        .iter()
        .zip(&i.frames)
        .map(|(c, f)| InputAge { input: format!("camera {c}"), age: f.as_ref().map(|f| age(f.header.stamp_ns)) })
        .collect();
    ages.push(InputAge { input: "arm_state".into(), age: i.arm.as_ref().map(|a| age(a.header.stamp_ns)) });
    ages
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::MockClock;
    use interfaces::msg::{Header, PixelEncoding};

    fn frame(camera: &str, ms: u64) -> Frame {
        Frame {
            header: Header { seq: 0, stamp_ns: Stamp(ms * 1_000_000) },
            camera: camera.into(),
            width: 2,
            height: 1,
            encoding: PixelEncoding::Rgb8,
            data: vec![ms as u8; 6],
        }
    }

    fn arm(ms: u64) -> ArmState {
        ArmState { header: Header { seq: 0, stamp_ns: Stamp(ms * 1_000_000) }, cycles: ms, ..Default::default() }
    }

    fn assembler(clock: &MockClock) -> ObservationAssembler {
        let tol = ObservationTolerance { max_age: Duration::from_millis(50), max_skew: Duration::from_millis(30) };
        ObservationAssembler::new(vec!["front".into(), "wrist".into()], tol, Arc::new(clock.clone()))
    }

    #[test]
    fn newest_inputs_within_tolerance_are_assembled() {
        let clock = MockClock::new(Stamp(1_000_000_000));
        let mut a = assembler(&clock);
        for (c, ms) in [("front", 960), ("front", 990), ("front", 970), ("wrist", 980), ("other", 999)] {
            a.offer_frame(frame(c, ms));
        }
        a.offer_arm_state(arm(999));
        a.offer_arm_state(arm(900));
        let o = a.assemble().expect("within tolerance");
        assert_eq!(o.frames[0].header.stamp_ns, Stamp(990_000_000), "newest frame by stamp, not by arrival");
        assert_eq!(o.frames[1].camera, "wrist");
        assert_eq!(o.arm.cycles, 999);
        assert_eq!(o.stamp, Stamp(999_000_000));
        assert_eq!(o.ages[2], InputAge { input: "arm_state".into(), age: Some(Duration::from_millis(1)) });
    }

    #[test]
    fn stale_missing_or_skewed_inputs_are_refused_with_every_age() {
        let clock = MockClock::new(Stamp(1_000_000_000));
        let mut a = assembler(&clock);
        a.offer_frame(frame("front", 990));
        let e = a.assemble().unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("camera front 10.0 ms old"), "{msg}");
        assert!(msg.contains("camera wrist never received") && msg.contains("arm_state never received"), "{msg}");

        a.offer_frame(frame("wrist", 940)); // 60 ms old > max_age 50 ms
        a.offer_arm_state(arm(995));
        let Err(AssemblyError::OutOfTolerance { ages, skew, .. }) = a.assemble() else {
            panic!("accepted a stale input")
        };
        assert_eq!(
            ages.iter().map(|a| a.age.map(|d| d.as_millis())).collect::<Vec<_>>(),
            [Some(10), Some(60), Some(5)]
        );
        assert_eq!(skew, Duration::from_millis(55));

        a.offer_frame(frame("wrist", 960)); // 40 ms old: fresh enough, but 35 ms from the arm state > max_skew 30 ms
        let Err(AssemblyError::OutOfTolerance { skew, .. }) = a.assemble() else { panic!("accepted a skewed input") };
        assert_eq!(skew, Duration::from_millis(35));

        a.offer_frame(frame("wrist", 970));
        assert!(a.assemble().is_ok());
        clock.advance_ns(45_000_000); // everything ages: the front frame is now 55 ms old
        let e = a.assemble().unwrap_err();
        assert!(e.to_string().contains("camera front 55.0 ms old"), "{e}");
    }

    #[test]
    fn a_corrupt_frame_is_reported_not_passed_on() {
        let clock = MockClock::new(Stamp(1_000_000_000));
        let mut a = assembler(&clock);
        let mut bad = frame("front", 995);
        bad.data.pop();
        a.offer_frame(bad);
        a.offer_frame(frame("wrist", 995));
        a.offer_arm_state(arm(995));
        let e = a.assemble().unwrap_err();
        assert!(matches!(e, AssemblyError::BadFrame(_)) && e.to_string().contains("camera `front`"), "{e}");
    }
}
