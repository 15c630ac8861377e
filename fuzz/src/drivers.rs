//! `dynamixel_packet`, `dynamixel_bus`, `franka_fci`, `ur_rtde`: the packet parsers of the arm drivers
//! (`controller/src/drivers/`).

use crate::self_equal;
use controller::drivers::dynamixel::protocol::{self as dxl, ParseError};
use controller::drivers::dynamixel::{BusError, DynamixelBus, SerialLink};
use controller::drivers::franka::protocol as fci;
use controller::drivers::ur_rtde::protocol as rtde;
use std::io;
use std::time::Duration;

/// Dynamixel protocol 2.0 bytes as they arrive on the bus. The header search stops at the first header (or a
/// header's prefix at the end); a packet that parses re-encodes to exactly its bytes (CRC and byte stuffing
/// included) and an incomplete one asks for more bytes than there are. Then the input is taken as an id, an
/// instruction and params, which encode into a packet that parses back to them (or are refused as too long).
pub fn dynamixel_packet(data: &[u8]) {
    let start = dxl::find_header(data);
    assert!(start <= data.len());
    for i in 0..start {
        let n = (data.len() - i).min(dxl::HEADER.len());
        assert_ne!(data[i..i + n], dxl::HEADER[..n], "a header at {i} was skipped");
    }
    let (mut scratch, mut out) = (Vec::new(), Vec::new());
    let buf = &data[start..];
    match dxl::parse(buf, &mut scratch) {
        Ok((p, used)) => {
            assert!(used > dxl::OVERHEAD && used <= buf.len());
            let len = dxl::encode(&mut out, p.id, p.instruction, &[p.params]).expect("a parsed packet re-encodes");
            assert_eq!(&out[..], &buf[..used], "{p:?} re-encodes to other bytes");
            assert_eq!(len, used);
            if let Some((err, rest)) = p.status() {
                assert!(p.instruction == dxl::inst::STATUS && rest.len() + 1 == p.params.len());
                let _ = (err.alert(), err.code(), err.describe());
            }
        }
        Err(ParseError::Incomplete { needed }) => assert!(needed > buf.len()),
        Err(ParseError::NoHeader) => assert!(buf.is_empty(), "find_header stopped at a non-header"),
        Err(ParseError::BadLength { len }) => assert!(!(3..=dxl::MAX_LEN).contains(&len)),
        Err(e @ (ParseError::Crc { .. } | ParseError::BadStuffing)) => {
            let _ = e.to_string();
        }
    }
    if let [id, instruction, params @ ..] = data {
        match dxl::encode(&mut out, *id, *instruction, &[params]) {
            Ok(len) => {
                let (p, used) = dxl::parse(&out, &mut scratch).expect("an encoded packet parses");
                assert_eq!((p.id, p.instruction, p.params, used), (*id, *instruction, params, len));
            }
            Err(dxl::EncodeError::TooLong { len, max }) => assert!(len > max && len >= params.len() + 3),
        }
    }
}

/// A serial link that records what is sent and returns the fuzzed bytes in chunks, then reports the port gone
/// (a timeout would make the outcome depend on the speed of the run).
struct FuzzLink<'a> {
    data: &'a [u8],
    at: usize,
    chunk: usize,
    sent: Vec<Vec<u8>>,
}

impl SerialLink for FuzzLink<'_> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.sent.push(bytes.to_vec());
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8], _: Duration) -> io::Result<usize> {
        if self.at >= self.data.len() {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "end of the fuzzed bytes"));
        }
        let n = self.chunk.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
    fn discard_input(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Servos of [`dynamixel_bus`]'s sync read, and the bytes read from each.
pub const SYNC_IDS: [u8; 3] = [1, 2, 3];
/// Bytes per servo of [`dynamixel_bus`]'s sync read (current, velocity and position of an X-series servo).
pub const SYNC_LEN: u16 = 10;

/// The data of every status packet from `id` anywhere in `stream` (whatever the bytes around it).
fn status_data(stream: &[u8], id: u8) -> Vec<Vec<u8>> {
    let mut scratch = Vec::new();
    (0..stream.len())
        .filter_map(|i| {
            let (p, _) = dxl::parse(&stream[i..], &mut scratch).ok()?;
            let (err, data) = p.status()?;
            (p.id == id && err.code() == 0).then(|| data.to_vec())
        })
        .collect()
}

/// A Dynamixel bus master receiving the fuzzed bytes as the servos' replies: `data[0]` picks the transaction
/// (ping, read, write, sync read), `data[1]` the size of the chunks the port delivers, the rest is the stream.
/// Whatever the stream, the transaction ends with a typed error naming a servo (or the port), and any data it
/// returns is the data of a status packet that servo sent; what the master sends parses as an instruction.
pub fn dynamixel_bus(data: &[u8]) {
    let [op, chunk, stream @ ..] = data else { return };
    let link = FuzzLink { data: stream, at: 0, chunk: 1 + usize::from(*chunk % 64), sent: Vec::new() };
    let mut bus = DynamixelBus::new(link, Duration::from_secs(10));
    let mut out = [0u8; SYNC_IDS.len() * SYNC_LEN as usize];
    // The transaction's result, and the data it returned for each servo.
    type Outcome = (Result<(), BusError>, Vec<(u8, Vec<u8>)>);
    let (result, returned): Outcome = match op % 4 {
        0 => {
            let r = bus.ping(1);
            let model = r.as_ref().ok().map(|m| (1, m.to_le_bytes().to_vec()));
            (r.map(|_| ()), model.into_iter().collect())
        }
        1 => {
            let mut d = [0u8; 4];
            let r = bus.read(2, 132, &mut d);
            (r.map(|_| ()), vec![(2, d.to_vec())])
        }
        2 => (bus.write(3, 64, &[1]), Vec::new()),
        _ => {
            let r = bus.sync_read(126, SYNC_LEN, &SYNC_IDS, &mut out);
            let n = usize::from(SYNC_LEN);
            (r, SYNC_IDS.iter().enumerate().map(|(k, &id)| (id, out[k * n..(k + 1) * n].to_vec())).collect())
        }
    };
    match &result {
        Ok(()) => {
            for (id, bytes) in &returned {
                let sent = status_data(stream, *id);
                assert!(
                    sent.iter().any(|d| d.starts_with(bytes) && (d.len() == bytes.len() || *op % 4 == 0)),
                    "servo {id}: returned {bytes:02x?}, never sent (its status data: {sent:02x?})"
                );
            }
        }
        Err(BusError::Io(kind)) => assert_eq!(*kind, io::ErrorKind::BrokenPipe),
        Err(e) => {
            assert!(e.id().is_some() && e.is_transient() || matches!(e, BusError::Alert { .. }), "{e:?}");
        }
    }
    let mut scratch = Vec::new();
    for packet in &bus.link_mut().sent {
        let (p, used) = dxl::parse(packet, &mut scratch).expect("the master's packets parse");
        assert!(used == packet.len() && p.instruction != dxl::inst::STATUS);
    }
}

/// FCI bytes: first as the TCP command stream (messages back to back, parsed as the driver does until one does
/// not parse), then as a UDP datagram (robot state, robot command). A message that parses re-encodes to exactly
/// its bytes; a datagram that decodes encodes into one that decodes to the same value and encodes to the same
/// bytes again.
pub fn franka_fci(data: &[u8]) {
    let mut rest = data;
    let mut out = Vec::new();
    let err = loop {
        match fci::parse(rest) {
            Ok((h, payload, used)) => {
                assert!((fci::HEADER_LEN..=rest.len()).contains(&used) && used <= fci::MAX_MESSAGE);
                assert_eq!((h.size as usize, payload.len()), (used, used - fci::HEADER_LEN));
                assert!(h.command <= fci::command::LAST);
                fci::encode(&mut out, h.command, h.command_id, &[payload]);
                assert_eq!(&out[..], &rest[..used]);
                rest = &rest[used..];
            }
            Err(e) => break e,
        }
    };
    match err {
        fci::ParseError::Incomplete { need } => assert!(need > rest.len()),
        fci::ParseError::BadSize { size } => {
            assert!(!(fci::HEADER_LEN as u32..=fci::MAX_MESSAGE as u32).contains(&size))
        }
        fci::ParseError::UnknownCommand { command } => assert!(command > fci::command::LAST),
    }
    let _ = err.to_string();

    match fci::RobotState::decode(data) {
        Ok(s) => {
            assert_eq!(data.len(), fci::STATE_LEN);
            for e in [s.errors, s.reflex_reason] {
                assert!(e.0 < 1 << fci::ERRORS.len());
                let _ = e.to_string();
            }
            let mut b = [0u8; fci::STATE_LEN];
            s.encode(&mut b);
            let again = fci::RobotState::decode(&b).expect("an encoded state decodes");
            let mut b2 = [0u8; fci::STATE_LEN];
            again.encode(&mut b2);
            assert!(b == b2, "a state's encoding is not stable");
            if self_equal(&s) {
                assert_eq!(again, s);
            }
        }
        Err(e) => {
            match e {
                fci::DatagramError::Size { got, want } => assert!(got == data.len() && want == fci::STATE_LEN),
                fci::DatagramError::Flag { at } => assert!(at < data.len() && data[at] > 1),
            }
            let _ = e.to_string();
        }
    }

    match fci::RobotCommand::decode(data) {
        Ok(c) => {
            assert_eq!(data.len(), fci::COMMAND_LEN);
            let mut b = [0u8; fci::COMMAND_LEN];
            c.encode(&mut b);
            let again = fci::RobotCommand::decode(&b).expect("an encoded command decodes");
            let mut b2 = [0u8; fci::COMMAND_LEN];
            again.encode(&mut b2);
            assert!(b == b2, "a command's encoding is not stable");
            if self_equal(&c) {
                assert_eq!(again, c);
            }
        }
        Err(fci::DatagramError::Size { got, want }) => assert!(got == data.len() && want == fci::COMMAND_LEN),
        Err(fci::DatagramError::Flag { at }) => assert!(at < data.len() && data[at] > 1),
    }
}

/// RTDE bytes as the robot sends them: packages back to back, parsed as the driver does until one does not parse,
/// each payload handed to the parser of its type. A package re-encodes to exactly its bytes; so do a recipe reply,
/// a text message, a controller version and a data package (output and input recipes) that parse.
pub fn ur_rtde(data: &[u8]) {
    let mut rest = data;
    let mut out = Vec::new();
    let err = loop {
        match rtde::parse(rest) {
            Ok((p, used)) => {
                assert!((rtde::HEADER_LEN..=rest.len()).contains(&used) && used <= rtde::MAX_PACKAGE);
                assert_eq!(p.payload.len(), used - rtde::HEADER_LEN);
                assert!(rtde::kind::ALL.contains(&p.kind));
                rtde::encode(&mut out, p.kind, &[p.payload]).expect("a parsed package re-encodes");
                assert_eq!(&out[..], &rest[..used]);
                rtde_payload(p.kind, p.payload);
                rest = &rest[used..];
            }
            Err(e) => break e,
        }
    };
    match err {
        rtde::ParseError::Incomplete { need } => assert!(need > rest.len()),
        rtde::ParseError::BadSize { size } => assert!(!(rtde::HEADER_LEN..=rtde::MAX_PACKAGE).contains(&size)),
        rtde::ParseError::UnknownType { kind } => assert!(!rtde::kind::ALL.contains(&kind)),
    }
    let _ = err.to_string();
}

fn rtde_payload(kind: u8, payload: &[u8]) {
    match kind {
        rtde::kind::DATA_PACKAGE => {
            let Some(&recipe) = payload.first() else {
                assert_eq!(rtde::RobotState::decode(payload, 1), Err(rtde::DataError::Empty));
                return;
            };
            if let Ok(s) = rtde::RobotState::decode(payload, recipe) {
                let mut b = [0u8; 1 + rtde::OUTPUT_LEN];
                s.encode(recipe, &mut b);
                assert_eq!(&b[..], payload, "an output data package re-encodes to other bytes");
                let other = recipe.wrapping_add(1);
                let wrong = rtde::RobotState::decode(payload, other);
                assert_eq!(wrong, Err(rtde::DataError::WrongRecipe { got: recipe, want: other }));
            }
            if let Ok(c) = rtde::Command::decode(payload, recipe) {
                let mut b = [0u8; 1 + rtde::INPUT_LEN];
                c.encode(recipe, &mut b);
                assert_eq!(&b[..], payload, "an input data package re-encodes to other bytes");
            }
        }
        rtde::kind::SETUP_OUTPUTS | rtde::kind::SETUP_INPUTS => {
            match rtde::Recipe::from_reply(payload) {
                Ok(r) => {
                    assert!(r.id != 0);
                    let names: Vec<&str> = r.types.iter().map(|t| t.name()).collect();
                    let reply = [&[r.id][..], names.join(",").as_bytes()].concat();
                    assert_eq!(reply, payload, "a recipe reply re-encodes to other bytes");
                    assert_eq!(r.data_len(), r.types.iter().map(|t| t.size()).sum::<usize>());
                    let _ = r.expect(&rtde::OUTPUT_TYPES).map_err(|e| e.to_string());
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
            // The same payload read as the client's request (frequency and names).
            if let Some((f, names)) = rtde::setup_outputs_request(payload) {
                assert_eq!([&f.to_be_bytes()[..], names.as_bytes()].concat(), payload);
            }
        }
        rtde::kind::TEXT_MESSAGE => {
            if let Some(t) = rtde::text_message(payload) {
                let mut b = vec![t.message.len() as u8];
                b.extend(t.message.as_bytes());
                b.push(t.source.len() as u8);
                b.extend(t.source.as_bytes());
                b.push(t.level);
                assert_eq!(b, payload, "a text message re-encodes to other bytes");
            }
        }
        rtde::kind::GET_URCONTROL_VERSION => {
            if let Some(v) = rtde::ControllerVersion::from_reply(payload) {
                assert_eq!(v.to_reply(), payload);
                let _ = v.to_string();
            }
        }
        _ => {}
    }
}

/// Feetech protocol-0 bytes as they arrive on the bus. The header search skips no header; a packet that parses
/// re-encodes to exactly its bytes and an incomplete one asks for more bytes than there are. Then the input is
/// taken as an id, a code and params, which encode into a packet that parses back to them (or are refused).
pub fn feetech_packet(data: &[u8]) {
    use controller::drivers::feetech::protocol as ft;
    let start = ft::find_header(data);
    assert!(start <= data.len());
    for i in 0..start.min(data.len().saturating_sub(2)) {
        assert!(!(data[i] == 0xFF && data[i + 1] == 0xFF && data[i + 2] != 0xFF), "a header at {i} was skipped");
    }
    let buf = &data[start..];
    let mut out = Vec::new();
    match ft::parse(buf) {
        Ok((p, used)) => {
            assert!(used == p.params.len() + ft::OVERHEAD && used <= buf.len());
            ft::encode(&mut out, p.id, p.code, &[p.params]).expect("a parsed packet re-encodes");
            assert_eq!(&out[..], &buf[..used]);
            let _ = ft::ServoStatus(p.code).to_string();
        }
        Err(ft::ParseError::Incomplete { needed }) => assert!(needed > buf.len()),
        Err(ft::ParseError::NoHeader) => assert!(buf.is_empty() || buf.len() >= 3, "find_header stopped early"),
        Err(ft::ParseError::BadLength { len }) => assert!(len < 2),
        Err(e @ ft::ParseError::Checksum { .. }) => {
            let _ = e.to_string();
        }
    }
    if let [id, code, params @ ..] = data {
        match ft::encode(&mut out, *id, *code, &[params]) {
            Ok(len) => {
                let (p, used) = ft::parse(&out).expect("an encoded packet parses");
                assert_eq!((p.id, p.code, p.params, used), (*id, *code, params, len));
            }
            Err(ft::EncodeError::TooLong { params: n }) => assert!(n > ft::MAX_PARAMS),
            Err(ft::EncodeError::BadId) => assert_eq!(*id, 0xFF),
        }
    }
}

/// A Feetech bus master receiving the fuzzed bytes as the servos' replies: `data[0]` picks the transaction (ping,
/// read, write, sync read of the present block), `data[1]` the chunk size, the rest is the stream. Whatever the
/// stream, the transaction ends with a typed error naming a servo (or the port), and what the master sends parses.
pub fn feetech_bus(data: &[u8]) {
    use controller::drivers::feetech::protocol as ft;
    use controller::drivers::feetech::{BusError as FtError, FeetechBus};
    let [op, chunk, stream @ ..] = data else { return };
    let link = FuzzLink { data: stream, at: 0, chunk: 1 + usize::from(*chunk % 64), sent: Vec::new() };
    let mut bus = FeetechBus::new(link, Duration::from_secs(10));
    let mut out = [0u8; 3 * 15];
    let result = match op % 4 {
        0 => bus.ping(1),
        1 => bus.read(2, 56, &mut out[..2]).map(|_| ()),
        2 => bus.write(3, 40, &[1]).map(|_| ()),
        _ => bus.sync_read(56, 15, &SYNC_IDS, &mut out),
    };
    match result {
        Ok(()) => {}
        Err(FtError::Io(kind)) => assert_eq!(kind, io::ErrorKind::BrokenPipe),
        Err(e) => assert!(e.id().is_some(), "{e:?}"),
    }
    for packet in &bus.link_mut().sent {
        let (_, used) = ft::parse(packet).expect("the master's packets parse");
        assert_eq!(used, packet.len());
    }
}
