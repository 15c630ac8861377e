//! Observation assembly for the actor: the newest frame of each camera and the newest arm state, paired within a
//! time tolerance, or a typed error that reports every input's age.
//!
//! Inputs are checked as they arrive, and only good ones are held, so that a hostile or broken message can
//! never end the assembly, only be refused and counted ([`ObservationAssembler::refusals`], with rate-limited
//! warnings):
//!
//! - **Where from:** each input is bound to one publisher's stream ([`crate::StreamGate`]: its sequence numbers
//!   and a monotonic stamp no further ahead of the assembler's clock than the skew tolerance, never beyond
//!   [`crate::MAX_STAMP`]); a frame must come on its own camera's key (`camera/<name>/frame`) and name that
//!   camera. A message stamped `u64::MAX` is refused and pins nothing.
//! - **What:** a frame must declare the camera's configured size (and a size [`Frame::size_allowed`]); RGB8 data
//!   must be `width·height·3` bytes; a JPEG's own frame header must declare the same size
//!   ([`crate::jpeg_dimensions`], read before decoding, so the decoder never allocates more than the configured
//!   frame) and it must decode. JPEGs are decoded on arrival (on the `observation-inputs` thread), so assembly
//!   hands out RGB8 only. An arm state must have a valid pose and finite twist and gripper width.

use crate::decode::{jpeg_dimensions, to_rgb8};
use crate::error::{AssemblyError, InputAge, PerceptionError};
use crate::gate::{GatePolicy, Refusal, Refusals, Reporter, StreamGate};
use bus::{Bus, Subscriber};
use interfaces::CellConfig;
use interfaces::keys::{ARM_STATE, FRAME};
use interfaces::msg::{ArmState, Frame, PixelEncoding};
use interfaces::time::{Clock, MonotonicClock, Stamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How fresh and how close together the inputs of an observation must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObservationTolerance {
    /// Largest age of any input (now − its stamp) at assembly.
    pub max_age: Duration,
    /// Largest spread between the oldest and the newest input stamp. Also how far ahead of the assembler's clock
    /// an input may be stamped: one further ahead could not be paired with anything of now, and is refused.
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

/// A camera whose frames an observation takes, and the size they must declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInput {
    /// Camera name (`camera/<name>/frame`, and the frame's `camera` field).
    pub name: String,
    /// Width and height, pixels, every frame must declare; `None`: any size [`Frame::size_allowed`].
    pub size: Option<(u32, u32)>,
}

impl CameraInput {
    /// Camera `name`, whose frames must be `width`×`height`.
    pub fn sized(name: impl Into<String>, width: u32, height: u32) -> Self {
        Self { name: name.into(), size: Some((width, height)) }
    }
}

impl From<String> for CameraInput {
    fn from(name: String) -> Self {
        Self { name, size: None }
    }
}

impl From<&str> for CameraInput {
    fn from(name: &str) -> Self {
        name.to_string().into()
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

/// What is wrong with an arm state whatever its source, if anything: its pose, twist or gripper width is not
/// finite (the observation is computed from them).
pub fn arm_state_problem(s: &ArmState) -> Option<String> {
    if !s.ee_pose.is_valid() {
        return Some(format!("its TCP pose {:?} is not a valid pose", s.ee_pose));
    }
    if !s.ee_twist.iter().all(|v| v.is_finite()) || !s.gripper.width.is_finite() {
        return Some("its twist or gripper width is not finite".into());
    }
    None
}

/// One input: the gate of its publisher's stream, what it refused, and the newest good message.
#[derive(Debug)]
struct Input<T> {
    label: String,
    gate: StreamGate,
    refusals: Refusals,
    last_refusal: Option<Refusal>,
    reporter: Reporter,
    held: Option<T>,
}

impl<T> Input<T> {
    fn new(label: String, policy: GatePolicy) -> Self {
        Self {
            label,
            gate: StreamGate::new(policy),
            refusals: Refusals::default(),
            last_refusal: None,
            reporter: Reporter::default(),
            held: None,
        }
    }

    fn refuse(&mut self, why: Refusal) -> Refusal {
        self.refusals.count(&why);
        self.reporter.refused(&self.label, &why);
        self.last_refusal = Some(why.clone());
        why
    }

    /// Passes the message through the gate; keeps `msg` when it is admitted.
    fn admit(&mut self, seq: u64, stamp: Stamp, arrived: Stamp, reference: Stamp, msg: T) -> Result<(), Refusal> {
        match self.gate.admit(seq, stamp, arrived, Some(reference)) {
            Ok(admitted) => {
                if let crate::gate::Admitted::Adopted { after } = admitted {
                    self.refusals.adoptions = self.refusals.adoptions.saturating_add(1);
                    self.reporter.adopted(&self.label, seq, stamp, after);
                }
                self.held = Some(msg);
                Ok(())
            }
            Err(e) => Err(self.refuse(e)),
        }
    }

    /// A note on what this input refused, for an error message.
    fn note(&self) -> Option<String> {
        let r = &self.refusals;
        let why = self.last_refusal.as_ref()?;
        let held = if r.held > 0 {
            format!(", {} held back (no clock yet, or a publisher being confirmed)", r.held)
        } else {
            String::new()
        };
        Some(format!("{}: {} message(s) refused{held}, the last because {why}", self.label, r.hostile()))
    }
}

/// A camera's input, with what its frames must be.
#[derive(Debug)]
struct CameraSlot {
    name: String,
    size: Option<(u32, u32)>,
    /// The key its frames must come on, when fed from the bus.
    key: Option<String>,
    input: Input<Frame>,
}

/// The newest good input of each kind.
#[derive(Debug)]
struct Inputs {
    cameras: Vec<CameraSlot>,
    arm: Input<ArmState>,
}

impl Inputs {
    /// The index of `frame`'s camera, or why the frame cannot be one of its (`None`: not a camera of ours).
    /// Everything but the stream and the decoding: cheap, and checked before either.
    fn check_frame(&self, frame: &Frame, key: Option<&str>) -> Option<Result<usize, Refusal>> {
        let i = self.cameras.iter().position(|c| c.name == frame.camera)?;
        let c = &self.cameras[i];
        if let (Some(got), Some(expected)) = (key, &c.key)
            && got != expected
        {
            return Some(Err(Refusal::Malformed(format!(
                "a frame naming camera `{}` came on {got}, not on its key {expected}",
                c.name
            ))));
        }
        Some(frame_problem(frame, c.size).map_or(Ok(i), |p| Err(Refusal::Malformed(p))))
    }
}

/// What is wrong with `frame` before decoding, for a camera whose frames must be `size`, if anything.
fn frame_problem(frame: &Frame, size: Option<(u32, u32)>) -> Option<String> {
    let (w, h) = (frame.width, frame.height);
    if !Frame::size_allowed(w, h) {
        return Some(format!("a frame declares {w}×{h} pixels, not an allowed size"));
    }
    if let Some((cw, ch)) = size
        && (w, h) != (cw, ch)
    {
        return Some(format!(
            "the camera publishes {w}×{h} frames, the policy takes {cw}×{ch}: set its `width`/`height`"
        ));
    }
    match frame.encoding {
        PixelEncoding::Rgb8 => (!frame.is_consistent())
            .then(|| format!("a {w}×{h} RGB8 frame of {} bytes, not width·height·3", frame.data.len())),
        PixelEncoding::Jpeg => match jpeg_dimensions(&frame.data) {
            Ok(d) if d == (w, h) => None,
            Ok((jw, jh)) => Some(format!("a frame declaring {w}×{h} holds a JPEG whose header declares {jw}×{jh}")),
            Err(e) => Some(format!("a {w}×{h} JPEG frame: {e}")),
        },
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

/// The assembler's clock now, or [`Refusal::NoClock`] while it reads 0 (no reading yet).
fn reference(clock: &dyn Clock) -> Result<Stamp, Refusal> {
    let now = clock.now();
    if now == Stamp(0) { Err(Refusal::NoClock) } else { Ok(now) }
}

/// Checks `frame` (arrived at `arrived`, on `key` when from the bus) and keeps it when it is good and continues
/// its camera's stream. The JPEG is decoded outside the lock.
fn offer_frame(
    inputs: &Mutex<Inputs>,
    clock: &dyn Clock,
    frame: Frame,
    key: Option<&str>,
    arrived: Stamp,
) -> Result<(), Refusal> {
    let (seq, stamp) = (frame.header.seq, frame.header.stamp_ns);
    let i = {
        let mut guard = lock(inputs);
        let i = match guard.check_frame(&frame, key) {
            None => return Ok(()), // not one of the policy's cameras
            Some(Ok(i)) => i,
            Some(Err(why)) => {
                let slot = guard.cameras.iter().position(|c| c.name == frame.camera).unwrap_or_default();
                return Err(guard.cameras[slot].input.refuse(why));
            }
        };
        let input = &mut guard.cameras[i].input;
        let now = reference(clock).map_err(|e| input.refuse(e))?;
        // A trial first: a frame the stream would refuse is not worth decoding.
        if let Err(e) = input.gate.clone().admit(seq, stamp, arrived, Some(now)) {
            return Err(input.refuse(e));
        }
        i
    };
    let decoded = to_rgb8(frame);
    let mut guard = lock(inputs);
    let input = &mut guard.cameras[i].input;
    match decoded {
        Ok(frame) => {
            let now = reference(clock).map_err(|e| input.refuse(e))?;
            input.admit(seq, stamp, arrived, now, frame)
        }
        Err(e) => Err(input.refuse(Refusal::Malformed(e.to_string()))),
    }
}

/// Checks `state` (arrived at `arrived`) and keeps it when it is good and continues the arm's stream.
fn offer_arm_state(inputs: &Mutex<Inputs>, clock: &dyn Clock, state: ArmState, arrived: Stamp) -> Result<(), Refusal> {
    let mut guard = lock(inputs);
    let input = &mut guard.arm;
    if let Some(p) = arm_state_problem(&state) {
        return Err(input.refuse(Refusal::Malformed(format!("an arm state whose {p}"))));
    }
    let now = reference(clock).map_err(|e| input.refuse(e))?;
    let (seq, stamp) = (state.header.seq, state.header.stamp_ns);
    input.admit(seq, stamp, arrived, now, state)
}

/// Keeps the newest good frame of each camera and the newest good arm state, and pairs them on request (see the
/// module's documentation for what "good" is).
///
/// Ages are measured with the injected clock, which must be the clock the inputs are stamped with (the host's
/// monotonic clock for real cells, the simulator's clock for simulated ones). While it reads 0 (no reading yet)
/// every input is held back.
pub struct ObservationAssembler {
    inputs: Arc<Mutex<Inputs>>,
    tolerance: ObservationTolerance,
    clock: Arc<dyn Clock>,
    _feeder: Option<Feeder>,
}

impl std::fmt::Debug for ObservationAssembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cameras: Vec<String> = lock(&self.inputs).cameras.iter().map(|c| c.name.clone()).collect();
        f.debug_struct("ObservationAssembler")
            .field("cameras", &cameras)
            .field("tolerance", &self.tolerance)
            .field("subscribed", &self._feeder.is_some())
            .finish()
    }
}

impl ObservationAssembler {
    /// An assembler fed by hand ([`offer_frame`](Self::offer_frame), [`offer_arm_state`](Self::offer_arm_state)).
    pub fn new(
        cameras: impl IntoIterator<Item = impl Into<CameraInput>>,
        tolerance: ObservationTolerance,
        clock: Arc<dyn Clock>,
    ) -> Self {
        // Stamps on the assembler's clock: none further ahead of it than the skew tolerance; the jump between
        // two messages is bounded by that check, so a simulator run faster than wall time passes.
        let policy = GatePolicy { max_ahead: tolerance.max_skew, max_rate: 1000, confirm: 1, ..GatePolicy::default() };
        let cameras = cameras
            .into_iter()
            .map(Into::into)
            .map(|c: CameraInput| CameraSlot {
                input: Input::new(format!("camera {}", c.name), policy),
                name: c.name,
                size: c.size,
                key: None,
            })
            .collect();
        let inputs = Arc::new(Mutex::new(Inputs { cameras, arm: Input::new("arm_state".into(), policy) }));
        Self { inputs, tolerance, clock, _feeder: None }
    }

    /// An assembler fed from the bus (every camera's `frame` topic and the controller's arm state) by a thread
    /// of its own, `observation-inputs`, which ends when the assembler is dropped.
    pub fn subscribe(
        bus: &Bus,
        cameras: impl IntoIterator<Item = impl Into<CameraInput>>,
        tolerance: ObservationTolerance,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PerceptionError> {
        let arm: Subscriber<ArmState> = bus.subscribe(ARM_STATE, None)?;
        Self::subscribe_with(bus, cameras, tolerance, clock, Some(arm))
    }

    /// An assembler fed every camera's `frame` topic from the bus by a thread of its own (as
    /// [`subscribe`](Self::subscribe)), and the arm state by hand ([`offer_arm_state`](Self::offer_arm_state)):
    /// for a caller that takes the arm state from the bus itself.
    pub fn subscribe_frames(
        bus: &Bus,
        cameras: impl IntoIterator<Item = impl Into<CameraInput>>,
        tolerance: ObservationTolerance,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PerceptionError> {
        Self::subscribe_with(bus, cameras, tolerance, clock, None)
    }

    fn subscribe_with(
        bus: &Bus,
        cameras: impl IntoIterator<Item = impl Into<CameraInput>>,
        tolerance: ObservationTolerance,
        clock: Arc<dyn Clock>,
        arm: Option<Subscriber<ArmState>>,
    ) -> Result<Self, PerceptionError> {
        let mut a = Self::new(cameras, tolerance, clock);
        for c in &mut lock(&a.inputs).cameras {
            c.key = Some(bus.key(FRAME, Some(&c.name)));
        }
        let frames: Subscriber<Frame> = bus.subscribe(FRAME, Some("*"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (inputs, clock, halt) = (a.inputs.clone(), a.clock.clone(), stop.clone());
        let thread = "observation-inputs".to_string();
        let handle = std::thread::Builder::new()
            .name(thread.clone())
            .spawn(move || {
                while !halt.load(Ordering::Acquire) {
                    let mut next = frames.recv_timeout(Duration::from_millis(5));
                    while let Some(f) = next {
                        let _ = offer_frame(&inputs, clock.as_ref(), f.msg, Some(&f.key), f.received);
                        next = frames.try_recv();
                    }
                    if let Some(arm) = &arm {
                        while let Some(s) = arm.try_recv() {
                            let _ = offer_arm_state(&inputs, clock.as_ref(), s.msg, s.received);
                        }
                    }
                }
            })
            .map_err(|e| PerceptionError::Thread { thread, reason: e.to_string() })?;
        a._feeder = Some(Feeder { stop, thread: Some(handle) });
        Ok(a)
    }

    /// [`subscribe`](Self::subscribe) for every camera of `cfg` (at its configured size) with
    /// [`ObservationTolerance::for_cell`].
    pub fn for_cell(bus: &Bus, cfg: &CellConfig, clock: Arc<dyn Clock>) -> Result<Self, PerceptionError> {
        let cameras: Vec<CameraInput> =
            cfg.cameras.iter().map(|c| CameraInput::sized(c.name.clone(), c.width, c.height)).collect();
        Self::subscribe(bus, cameras, ObservationTolerance::for_cell(cfg), clock)
    }

    /// The tolerance in force.
    pub fn tolerance(&self) -> ObservationTolerance {
        self.tolerance
    }

    /// Keeps `frame` if it belongs to a known camera, is good and continues that camera's stream (it arrived
    /// now); otherwise says why it was refused (a frame of another camera is ignored: `Ok`). A JPEG is decoded.
    pub fn offer_frame(&mut self, frame: Frame) -> Result<(), Refusal> {
        offer_frame(&self.inputs, self.clock.as_ref(), frame, None, MonotonicClock.now())
    }

    /// Keeps `state` if it is good and continues the arm state's stream (it arrived now); otherwise says why it
    /// was refused.
    pub fn offer_arm_state(&mut self, state: ArmState) -> Result<(), Refusal> {
        offer_arm_state(&self.inputs, self.clock.as_ref(), state, MonotonicClock.now())
    }

    /// What each input refused so far: cameras in order (`camera <name>`), then `arm_state`.
    pub fn refusals(&self) -> Vec<(String, Refusals)> {
        let i = lock(&self.inputs);
        let cameras = i.cameras.iter().map(|c| (c.input.label.clone(), c.input.refusals));
        cameras.chain(std::iter::once((i.arm.label.clone(), i.arm.refusals))).collect()
    }

    /// Pairs the newest inputs. Succeeds when every input is present, none is older than `max_age` and their
    /// stamps lie within `max_skew`; otherwise returns [`AssemblyError::OutOfTolerance`] with every input's age
    /// and what each input refused. Frames are RGB8 (JPEGs were decoded on arrival).
    pub fn assemble(&mut self) -> Result<Observation, AssemblyError> {
        let now = self.clock.now();
        let i = lock(&self.inputs);
        let ages = ages(&i, now);
        let stamps: Option<Vec<Stamp>> = i
            .cameras
            .iter()
            .map(|c| c.input.held.as_ref().map(|f| f.header.stamp_ns))
            .chain(std::iter::once(i.arm.held.as_ref().map(|a| a.header.stamp_ns)))
            .collect();
        let skew = stamps
            .as_ref()
            .and_then(|s| Some(Duration::from_nanos(s.iter().max()?.0.saturating_sub(s.iter().min()?.0))))
            .unwrap_or_default();
        let fresh = ages.iter().all(|a| a.age.is_some_and(|a| a <= self.tolerance.max_age));
        let frames = i.cameras.iter().map(|c| c.input.held.clone()).collect::<Option<Vec<Frame>>>();
        match (frames, i.arm.held.clone()) {
            (Some(frames), Some(arm)) if fresh && skew <= self.tolerance.max_skew => {
                let stamp = frames.iter().map(|f| f.header.stamp_ns).chain(std::iter::once(arm.header.stamp_ns)).max();
                Ok(Observation { stamp: stamp.unwrap_or_default(), frames, arm, ages })
            }
            _ => Err(AssemblyError::OutOfTolerance {
                ages,
                skew,
                max_age: self.tolerance.max_age,
                max_skew: self.tolerance.max_skew,
                refused: i.cameras.iter().map(|c| &c.input).filter_map(Input::note).chain(i.arm.note()).collect(),
            }),
        }
    }

    /// Retries [`assemble`](Self::assemble) until it succeeds or `timeout` passes (then returns the last error).
    pub fn assemble_within(&mut self, timeout: Duration) -> Result<Observation, AssemblyError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.assemble() {
                Ok(o) => return Ok(o),
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
        .map(|c| InputAge {
            input: format!("camera {}", c.name),
            age: c.input.held.as_ref().map(|f| age(f.header.stamp_ns)),
        })
        .collect();
    ages.push(InputAge { input: "arm_state".into(), age: i.arm.held.as_ref().map(|a| age(a.header.stamp_ns)) });
    ages
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::MockClock;
    use interfaces::msg::{Header, PixelEncoding};

    /// A 2×1 RGB8 frame stamped `ms`, numbered `ms` by its camera's publisher.
    fn frame(camera: &str, ms: u64) -> Frame {
        Frame {
            header: Header { seq: ms, stamp_ns: Stamp(ms * 1_000_000) },
            camera: camera.into(),
            width: 2,
            height: 1,
            encoding: PixelEncoding::Rgb8,
            data: vec![ms as u8; 6],
        }
    }

    fn arm(ms: u64) -> ArmState {
        ArmState { header: Header { seq: ms, stamp_ns: Stamp(ms * 1_000_000) }, cycles: ms, ..Default::default() }
    }

    fn assembler(clock: &MockClock) -> ObservationAssembler {
        let tol = ObservationTolerance { max_age: Duration::from_millis(50), max_skew: Duration::from_millis(30) };
        let cameras = [CameraInput::sized("front", 2, 1), CameraInput::sized("wrist", 2, 1)];
        ObservationAssembler::new(cameras, tol, Arc::new(clock.clone()))
    }

    fn refusals(a: &ObservationAssembler, input: &str) -> Refusals {
        a.refusals().into_iter().find(|(l, _)| l == input).map(|(_, r)| r).expect("an input of that name")
    }

    #[test]
    fn newest_inputs_within_tolerance_are_assembled() {
        let clock = MockClock::new(Stamp(1_000_000_000));
        let mut a = assembler(&clock);
        for (c, ms) in [("front", 960), ("front", 990), ("wrist", 980), ("other", 999)] {
            a.offer_frame(frame(c, ms)).expect("a good frame");
        }
        assert!(a.offer_frame(frame("front", 970)).is_err(), "older than the one held");
        a.offer_arm_state(arm(999)).expect("a good arm state");
        assert!(a.offer_arm_state(arm(900)).is_err(), "older than the one held");
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
        a.offer_frame(frame("front", 990)).unwrap();
        let e = a.assemble().unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("camera front 10.0 ms old"), "{msg}");
        assert!(msg.contains("camera wrist never received") && msg.contains("arm_state never received"), "{msg}");

        a.offer_frame(frame("wrist", 940)).unwrap(); // 60 ms old > max_age 50 ms
        a.offer_arm_state(arm(995)).unwrap();
        let Err(AssemblyError::OutOfTolerance { ages, skew, .. }) = a.assemble() else {
            panic!("accepted a stale input")
        };
        assert_eq!(
            ages.iter().map(|a| a.age.map(|d| d.as_millis())).collect::<Vec<_>>(),
            [Some(10), Some(60), Some(5)]
        );
        assert_eq!(skew, Duration::from_millis(55));

        a.offer_frame(frame("wrist", 960)).unwrap(); // 40 ms old: fresh enough, but 35 ms from the arm state > 30 ms
        let Err(AssemblyError::OutOfTolerance { skew, .. }) = a.assemble() else { panic!("accepted a skewed input") };
        assert_eq!(skew, Duration::from_millis(35));

        a.offer_frame(frame("wrist", 970)).unwrap();
        assert!(a.assemble().is_ok());
        clock.advance_ns(45_000_000); // everything ages: the front frame is now 55 ms old
        let e = a.assemble().unwrap_err();
        assert!(e.to_string().contains("camera front 55.0 ms old"), "{e}");
    }

    #[test]
    fn a_u64_max_stamp_pins_nothing_and_later_good_inputs_are_used() {
        let clock = MockClock::new(Stamp(1_000_000_000));
        let mut a = assembler(&clock);
        // Before anything was held, and after: a frame and an arm state stamped u64::MAX are refused.
        let forged = |mut f: Frame| {
            f.header.stamp_ns = Stamp(u64::MAX);
            f
        };
        let e = a.offer_frame(forged(frame("front", 980))).unwrap_err();
        assert!(matches!(e, Refusal::Ahead { .. }), "{e}");
        a.offer_frame(frame("front", 985)).unwrap();
        a.offer_frame(frame("wrist", 985)).unwrap();
        a.offer_arm_state(arm(985)).unwrap();
        assert!(a.offer_frame(forged(frame("front", 986))).is_err());
        let e = a.offer_arm_state(ArmState { header: Header { seq: 986, stamp_ns: Stamp(u64::MAX) }, ..arm(986) });
        assert!(matches!(e, Err(Refusal::Ahead { .. })), "{e:?}");
        // A stamp a little ahead of the clock, more than the skew tolerance: refused as well.
        assert!(matches!(a.offer_frame(frame("wrist", 1_040)), Err(Refusal::Ahead { .. })));

        // The later good inputs are used.
        clock.advance_ns(10_000_000);
        for c in ["front", "wrist"] {
            a.offer_frame(frame(c, 1_009)).unwrap();
        }
        a.offer_arm_state(arm(1_009)).unwrap();
        let o = a.assemble().expect("the later good inputs");
        assert!(o.frames.iter().all(|f| f.header.stamp_ns == Stamp(1_009_000_000)), "{:?}", o.frames);
        assert_eq!((o.arm.cycles, o.stamp), (1_009, Stamp(1_009_000_000)));
        assert_eq!((refusals(&a, "camera front").ahead, refusals(&a, "arm_state").ahead), (2, 1));
    }

    #[test]
    fn a_second_publisher_of_arm_states_is_refused_while_the_first_delivers() {
        let clock = MockClock::new(Stamp(1_000_000_000));
        let mut a = assembler(&clock);
        a.offer_arm_state(arm(990)).unwrap();
        // Another publisher numbers from 1: its state (at a workspace corner, stamped now) is not taken.
        let mut forged = arm(995);
        forged.header.seq = 1;
        forged.ee_pose.position = [0.8, 0.4, 0.6];
        assert!(matches!(a.offer_arm_state(forged), Err(Refusal::Sequence { .. })));
        a.offer_arm_state(arm(996)).unwrap();
        a.offer_frame(frame("front", 996)).unwrap();
        a.offer_frame(frame("wrist", 996)).unwrap();
        let o = a.assemble().unwrap();
        assert_eq!(o.arm.ee_pose.position, [0.0; 3]);
        assert_eq!(refusals(&a, "arm_state").sequence, 1);
        let mut nan = arm(997);
        nan.ee_pose.position[0] = f64::NAN;
        assert!(matches!(a.offer_arm_state(nan), Err(Refusal::Malformed(_))));
    }

    #[test]
    fn bad_frames_are_counted_and_dropped_never_fatal() {
        let clock = MockClock::new(Stamp(1_000_000_000));
        let mut a = assembler(&clock);
        let mut short = frame("front", 995);
        short.data.pop();
        assert!(matches!(a.offer_frame(short), Err(Refusal::Malformed(_))));
        let mut long = frame("front", 995);
        long.data.extend([0; 1000]);
        assert!(matches!(a.offer_frame(long), Err(Refusal::Malformed(_))));
        let other_size = Frame { width: 1, height: 2, ..frame("front", 995) };
        let e = a.offer_frame(other_size).unwrap_err();
        assert!(e.to_string().contains("the policy takes 2×1"), "{e}");
        let huge = Frame { width: u32::MAX, height: u32::MAX, ..frame("front", 995) };
        assert!(matches!(a.offer_frame(huge), Err(Refusal::Malformed(_))));
        // A JPEG declaring the camera's size whose own header declares 20000×20000: refused before decoding.
        let mut sof = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8];
        sof.extend(20_000u16.to_be_bytes());
        sof.extend(20_000u16.to_be_bytes());
        sof.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        let bomb = Frame { encoding: PixelEncoding::Jpeg, data: sof, ..frame("front", 995) };
        let e = a.offer_frame(bomb).unwrap_err();
        assert!(e.to_string().contains("20000×20000"), "{e}");
        // A corrupt JPEG of the right declared size.
        let corrupt =
            Frame { encoding: PixelEncoding::Jpeg, data: vec![0xFF, 0xD8, 0xFF, 0xD9], ..frame("front", 995) };
        assert!(matches!(a.offer_frame(corrupt), Err(Refusal::Malformed(_))));
        // A JPEG whose header agrees with the frame, and whose data is garbage: refused by the decoder.
        let mut garbage = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0, 1, 0, 2, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
        garbage.extend([0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0, 0x55, 0xAA, 0xFF, 0xD9]);
        let garbage = Frame { encoding: PixelEncoding::Jpeg, data: garbage, ..frame("front", 995) };
        assert!(matches!(a.offer_frame(garbage), Err(Refusal::Malformed(_))));
        assert_eq!(refusals(&a, "camera front").malformed, 7);

        // Nothing was held; the assembly says why, and the next good frame is used.
        a.offer_frame(frame("wrist", 995)).unwrap();
        a.offer_arm_state(arm(995)).unwrap();
        let e = a.assemble().unwrap_err();
        assert!(
            e.to_string().contains("camera front never received") && e.to_string().contains("7 message(s) refused"),
            "{e}"
        );
        a.offer_frame(frame("front", 996)).unwrap();
        assert_eq!(a.assemble().expect("the next good frame").frames[0].header.stamp_ns, Stamp(996_000_000));
    }

    #[test]
    fn a_frame_on_another_cameras_key_is_refused() {
        let clock = MockClock::new(Stamp(1_000_000_000));
        let a = assembler(&clock);
        lock(&a.inputs).cameras[0].key = Some("corrigo/c/camera/front/frame".into());
        let now = MonotonicClock.now();
        let e = offer_frame(&a.inputs, &clock, frame("front", 990), Some("corrigo/c/camera/evil/frame"), now);
        assert!(matches!(e, Err(Refusal::Malformed(_))), "{e:?}");
        offer_frame(&a.inputs, &clock, frame("front", 990), Some("corrigo/c/camera/front/frame"), now).unwrap();
    }

    #[test]
    fn nothing_is_held_before_the_clock_has_a_reading() {
        let clock = MockClock::new(Stamp(0));
        let mut a = assembler(&clock);
        assert_eq!(a.offer_frame(frame("front", 0)), Err(Refusal::NoClock));
        assert_eq!(refusals(&a, "camera front").held, 1);
    }
}
