//! A phone on the far end of a pseudo-terminal: the cable modem emulation
//! (`handsync::emulator::cable`) in front of an OBEX machine (the server when the PC starts,
//! the client when the phone starts), pumped by the test thread.
#![allow(dead_code)] // each test binary uses its own subset

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use handsync::emulator::cable::CableModem;
use handsync::machine::Machine;
use handsync::obex::{SyncmlClient, SyncmlEvent, SyncmlServer};

/// A pty pair: handsync opens `path` (the slave), the phone holds the master.
pub struct Pty {
    master: OwnedFd,
    /// Kept open so the master never reads EIO while handsync has the slave closed.
    _slave: OwnedFd,
    pub path: String,
}

impl Pty {
    pub fn open() -> Pty {
        let mut master = -1;
        let mut slave = -1;
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: openpty fills the two descriptors and the name buffer (128 bytes is plenty).
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                name.as_mut_ptr(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty returned two open descriptors that nothing else owns.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        // Raw from the start: no echo or line editing before handsync sets the line up.
        // SAFETY: termios calls on our own descriptor.
        unsafe {
            let mut termios = std::mem::zeroed::<libc::termios>();
            libc::tcgetattr(slave.as_raw_fd(), &mut termios);
            libc::cfmakeraw(&mut termios);
            libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &termios);
        }
        // SAFETY: name is NUL-terminated by openpty.
        let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        Pty {
            master,
            _slave: slave,
            path,
        }
    }

    /// What handsync wrote, waiting up to `timeout`; empty when nothing came.
    pub fn read(&self, timeout: Duration) -> Vec<u8> {
        let mut poll = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, timeout.as_millis() as libc::c_int) };
        if ready <= 0 || poll.revents & libc::POLLIN == 0 {
            if poll.revents & libc::POLLHUP != 0 {
                std::thread::sleep(timeout.min(Duration::from_millis(20)));
            }
            return Vec::new();
        }
        let mut buffer = [0u8; 4096];
        // SAFETY: reading into our buffer.
        let n = unsafe {
            libc::read(
                self.master.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
            )
        };
        if n <= 0 {
            return Vec::new();
        }
        buffer[..n as usize].to_vec()
    }

    pub fn write(&self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            // SAFETY: writing from our buffer.
            let n =
                unsafe { libc::write(self.master.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
            assert!(n > 0, "pty write: {}", std::io::Error::last_os_error());
            bytes = &bytes[n as usize..];
        }
    }
}

/// The OBEX machine behind the modem.
pub trait ObexSide {
    fn input(&mut self, bytes: &[u8]);
    fn transmit(&mut self) -> Option<Vec<u8>>;
    fn event(&mut self) -> Option<SyncmlEvent>;
}

impl ObexSide for SyncmlServer {
    fn input(&mut self, bytes: &[u8]) {
        self.handle_input(Instant::now(), bytes)
    }
    fn transmit(&mut self) -> Option<Vec<u8>> {
        self.poll_transmit()
    }
    fn event(&mut self) -> Option<SyncmlEvent> {
        self.poll_event()
    }
}

impl ObexSide for SyncmlClient {
    fn input(&mut self, bytes: &[u8]) {
        self.handle_input(Instant::now(), bytes)
    }
    fn transmit(&mut self) -> Option<Vec<u8>> {
        self.poll_transmit()
    }
    fn event(&mut self) -> Option<SyncmlEvent> {
        self.poll_event()
    }
}

/// The phone: pty master, cable modem, OBEX machine.
pub struct CablePhone<M> {
    pub pty: Pty,
    pub modem: CableModem,
    pub obex: M,
    /// Everything handsync sent while the modem was in AT mode, for the dialogue checks.
    pub heard: Vec<u8>,
}

impl<M: ObexSide> CablePhone<M> {
    pub fn new(pty: Pty, modem: CableModem, obex: M) -> CablePhone<M> {
        CablePhone {
            pty,
            modem,
            obex,
            heard: Vec::new(),
        }
    }

    /// Moves bytes both ways once, waiting up to `timeout` for input.
    pub fn pump(&mut self, timeout: Duration) {
        self.flush();
        let input = self.pty.read(timeout);
        if !input.is_empty() {
            if self.modem.mode() == handsync::emulator::cable::CableMode::At {
                self.heard.extend_from_slice(&input);
            }
            self.modem.handle_input(&input);
        }
        self.flush();
    }

    fn flush(&mut self) {
        loop {
            let mut moved = false;
            if let Some(bytes) = self.modem.poll_obex_input() {
                self.obex.input(&bytes);
                moved = true;
            }
            while let Some(packet) = self.obex.transmit() {
                self.modem.send_obex(&packet);
                moved = true;
            }
            if let Some(bytes) = self.modem.poll_transmit() {
                self.pty.write(&bytes);
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    /// The next OBEX event, pumping until it comes (panics after `limit`).
    pub fn next_event(&mut self, limit: Duration) -> Option<SyncmlEvent> {
        let until = Instant::now() + limit;
        loop {
            self.flush();
            if let Some(event) = self.obex.event() {
                return Some(event);
            }
            if Instant::now() > until {
                return None;
            }
            self.pump(Duration::from_millis(50));
        }
    }

    /// Keeps answering until `done` says so (or `limit` passes: false).
    pub fn pump_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if done(self) {
                return true;
            }
            self.pump(Duration::from_millis(50));
        }
        done(self)
    }

    /// What handsync said in AT mode, as text.
    pub fn heard_text(&self) -> String {
        String::from_utf8_lossy(&self.heard).into_owned()
    }
}
