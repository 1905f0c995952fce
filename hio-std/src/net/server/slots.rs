//! The doers' side of a [`Server`]: the listener, accepting, and serving
//! each connection's socket (its remoter's pass).

use super::*;

/// What a connection needs after it was served.
enum Served {
    /// Serving again next pass (its read budget ran out).
    Again,
    /// Serving when readiness or the application asks, or by this time
    /// (its idle or handshake timeout).
    Until(Instant),
    /// Serving when readiness or the application asks.
    Parked,
}

impl<'r> Server<'r> {
    /// How many slots it has (its connection limit).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The remoter took on `waker` (`None`: it ended).
    pub(crate) fn set_remoter(&self, waker: Option<Waker>) {
        self.remoter.set(waker);
    }

    /// Notes activity on a connection (for its idle timeout: without one,
    /// no clock is read).
    pub(super) fn touch(&self, last_active: &mut Instant) {
        if self.config.idle_timeout.is_some() {
            *last_active = Instant::now();
        }
    }

    /// Has the remoter serve `s` (in its next round).
    pub(super) fn poke(&self, s: &Slot) {
        if !s.queued.replace(true) {
            self.work.borrow_mut().push(s.index);
        }
        if let Some(w) = self.remoter.get() {
            w.wake();
        }
    }

    /// The remoter's round: serves the connections the reactor reported
    /// ready, in the order they became ready, and those the application
    /// asked for, each once. Returns the remoter's next tock: 0 when one
    /// used up its read budget (served again next pass), the time to the
    /// earliest idle or handshake timeout, or parked.
    pub(crate) fn serve_ready(&self) -> Tock {
        {
            let mut taken = self.taken.borrow_mut();
            self.reactor.take_queued(self.queue, &mut taken);
            let mut work = self.work.borrow_mut();
            for (tag, r) in taken.drain(..) {
                let Some(s) = self.slots.get(tag as usize) else {
                    continue;
                };
                s.ready.set(s.ready.get().with(r));
                if !s.queued.replace(true) {
                    work.push(tag);
                }
            }
        }
        let mut round = std::mem::take(&mut *self.round.borrow_mut());
        std::mem::swap(&mut round, &mut *self.work.borrow_mut());
        let mut again = false;
        let mut expiry = self.next_expiry.get();
        for &slot in &round {
            let Some(s) = self.slots.get(slot as usize) else {
                continue;
            };
            s.queued.set(false);
            let ready = s.ready.replace(Readiness::NONE);
            match self.service_slot(slot as usize, ready) {
                Served::Again => {
                    // served again next pass, after the others
                    self.poke(s);
                    again = true;
                }
                Served::Until(at) => expiry = Some(expiry.map_or(at, |e| e.min(at))),
                Served::Parked => {}
            }
        }
        round.clear();
        *self.round.borrow_mut() = round;
        let busy = again || !self.work.borrow().is_empty();
        // the clock is read only when a timeout runs
        let Some(mut at) = expiry else {
            self.next_expiry.set(None);
            return if busy { Tock::ZERO } else { Tock::NEVER };
        };
        let now = Instant::now();
        if at <= now {
            match self.expire(now) {
                Some(next) => at = next,
                None => {
                    self.next_expiry.set(None);
                    return if busy { Tock::ZERO } else { Tock::NEVER };
                }
            }
        }
        self.next_expiry.set(Some(at));
        if busy {
            return Tock::ZERO;
        }
        let left = at.saturating_duration_since(now);
        crate::net::client::tock_of(left)
    }

    /// Closes the connections whose idle or handshake timeout ran out by
    /// `now`; returns the earliest timeout left.
    fn expire(&self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for (slot, s) in self.slots.iter().enumerate() {
            if !s.open.get() {
                continue;
            }
            let (idle_at, handshake_at) = {
                let Ok(io) = s.io.try_borrow() else {
                    continue;
                };
                let idle_at = self
                    .config
                    .idle_timeout
                    .and_then(|t| io.last_active.checked_add(t));
                (idle_at, io.tls.as_ref().and_then(|t| t.deadline()))
            };
            if handshake_at.is_some_and(|d| d <= now) {
                self.close_slot(slot, CloseReason::Tls(TlsFailure::HandshakeTimeout));
                continue;
            }
            if idle_at.is_some_and(|d| d <= now) {
                self.close_slot(slot, CloseReason::Idle);
                continue;
            }
            for at in idle_at.into_iter().chain(handshake_at) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }

    /// Registers the listener: its readiness wakes `waker`.
    pub(crate) fn start_listening(&self, waker: Waker) -> io::Result<()> {
        let mut l = self.listener.borrow_mut();
        let Some(listener) = l.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let token = self.reactor.register(listener, Interest::READABLE, waker)?;
        self.listener_token.set(Some(token));
        Ok(())
    }

    /// Closes the listener (the port is free again).
    pub(crate) fn stop_listening(&self) {
        if let Some(mut l) = self.listener.borrow_mut().take() {
            if let Some(t) = self.listener_token.take() {
                self.reactor.deregister(&mut l, t);
            }
            log::info!("server: {} closed", self.local);
        }
    }

    /// Accepts what is waiting, up to the budget. Returns the acceptor's
    /// next tock: parked when drained, 0 when the budget ran out, a short
    /// retry after an error such as running out of file descriptors.
    pub(crate) fn service_accept(&self) -> Tock {
        for _ in 0..self.config.accept_budget.max(1) {
            let accepted = {
                let l = self.listener.borrow();
                match l.as_ref() {
                    Some(l) => l.accept(),
                    None => return Tock::NEVER,
                }
            };
            match accepted {
                Ok((stream, peer)) => self.admit(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Tock::NEVER,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    self.count(|s| s.accept_errors += 1);
                    log::warn!("server: accept failed: {e}; retrying in 10 ms");
                    return Tock::from_millis(10);
                }
            }
        }
        Tock::ZERO
    }

    fn admit(&self, mut stream: TcpStream, peer: SocketAddr) {
        let Some(slot) = self.free.borrow_mut().pop() else {
            self.count(|s| s.refused += 1);
            log::warn!(
                "server: {peer} refused: at the limit of {} connections",
                self.slots.len()
            );
            drop(stream);
            return;
        };
        let Some(s) = self.slots.get(slot as usize) else {
            return;
        };
        let Some(waker) = self.remoter.get() else {
            // the remoter is not running (the server is stopping)
            self.free.borrow_mut().push(slot);
            return;
        };
        let session = match &self.tls {
            Some(tls) => match Session::server(tls, self.config.tx_capacity) {
                Ok(session) => Some(Box::new(session)),
                Err(e) => {
                    log::warn!("server: {peer}: no TLS session: {e}");
                    self.free.borrow_mut().push(slot);
                    return;
                }
            },
            None => None,
        };
        let _ = stream.set_nodelay(true);
        let token = match self.reactor.register_queued(
            &mut stream,
            Interest::READABLE | Interest::WRITABLE,
            waker,
            self.queue,
            slot,
        ) {
            Ok(t) => t,
            Err(e) => {
                log::warn!("server: {peer}: cannot register: {e}");
                self.free.borrow_mut().push(slot);
                return;
            }
        };
        {
            let mut io = s.io.borrow_mut();
            io.rx.reserve(self.config.rx_capacity);
            io.tx.reserve(self.config.tx_capacity);
            io.rx.clear();
            io.tx.clear();
            io.stream = Some(stream);
            io.token = Some(token);
            io.peer = Some(peer);
            io.rx_eof = false;
            io.shut = Shut::Open;
            io.closing = false;
            io.rx_blocked = false;
            io.rx_closed = false;
            io.tls_pump = false;
            io.tx_blocked = false;
            io.discarding = false;
            io.broken = None;
            io.last_active = Instant::now();
            io.tls = session;
            // it may have sent already: the first pump reads
            io.rx_idle = false;
        }
        s.gen.set(s.gen.get().wrapping_add(1));
        s.open.set(true);
        s.notified.set(false);
        let id = ConnId {
            slot,
            gen: s.gen.get(),
        };
        self.count(|st| {
            st.accepted += 1;
            st.open += 1;
        });
        log::info!("server: {id} accepted from {peer}");
        self.emit(ServerEvent::Opened { id, peer });
        // it may have sent already: the remoter looks at once
        self.poke(s);
    }

    /// Serves slot `slot`, with the readiness `ready` reported for it:
    /// reads, writes, shuts, closes. Tells when it needs serving again.
    fn service_slot(&self, slot: usize, ready: Readiness) -> Served {
        let Some(s) = self.slots.get(slot) else {
            return Served::Parked;
        };
        if !s.open.get() {
            return Served::Parked;
        }
        let id = ConnId {
            slot: slot as u32,
            gen: s.gen.get(),
        };
        let mut notify = false;
        let mut more = false;
        let mut close;
        let (mut bytes_in, mut bytes_out) = (0u64, 0u64);
        let mut handshaken = false;
        let mut deadline = None;
        {
            let Ok(mut guard) = s.io.try_borrow_mut() else {
                s.ready.set(s.ready.get().with(ready));
                return Served::Again;
            };
            let io = &mut *guard;
            let Some(stream) = io.stream.as_mut() else {
                return Served::Parked;
            };
            close = io.broken;
            io.rx_closed |= ready.is_read_closed();
            // With an application, a connection's bytes go straight from the
            // socket into the application's buffer when it receives (no copy
            // through the receive buffer, and its read budget per pass is
            // the application's): readiness only marks the socket to be read
            // and tells the application.
            let app_reads = self.has_app() && !io.rx_eof && !io.closing;
            if let Some(session) = io.tls.as_mut() {
                let lazy = app_reads
                    && !io.tls_pump
                    && !session.is_handshaking()
                    && io.rx.is_empty()
                    && close.is_none();
                io.tls_pump = false;
                if lazy {
                    // the application reads the socket: the pump's last
                    // read says nothing of what is there now
                    io.rx_idle = false;
                    let p = session.pump_out(stream, &mut io.tx);
                    bytes_out = p.plain_out as u64;
                    if p.wire_out > 0 {
                        self.touch(&mut io.last_active);
                    }
                    if p.plain_out > 0 && io.tx_blocked {
                        io.tx_blocked = false;
                        notify = true;
                    }
                    if ready.is_readable() {
                        io.rx_blocked = true;
                        notify = true;
                    }
                    close = match p.failed {
                        Some(Broken::Tls(f)) => Some(CloseReason::Tls(f)),
                        Some(Broken::Io(k)) => Some(reason_of(&k.into())),
                        None => None,
                    };
                } else if close.is_none() {
                    let may_read = !io.rx_idle || ready.is_readable();
                    let p = session.pump_stream(
                        stream,
                        &mut io.rx,
                        &mut io.tx,
                        self.config.read_budget,
                        !io.rx_closed,
                        may_read,
                    );
                    if may_read {
                        io.rx_idle = p.drained;
                    }
                    bytes_in = p.plain_in as u64;
                    bytes_out = p.plain_out as u64;
                    if p.wire_in > 0 || p.wire_out > 0 {
                        self.touch(&mut io.last_active);
                    }
                    notify |= p.plain_in > 0;
                    if p.plain_out > 0 && io.tx_blocked {
                        io.tx_blocked = false;
                        notify = true;
                    }
                    io.rx_blocked |= p.rx_full;
                    more |= p.more;
                    if p.peer_closed && !io.rx_eof {
                        io.rx_eof = true;
                        notify = true;
                        log::debug!("server: {id}: close_notify from the peer");
                    }
                    handshaken = p.handshake_done;
                    close = match p.failed {
                        Some(Broken::Tls(f)) => Some(CloseReason::Tls(f)),
                        Some(Broken::Io(k)) => Some(reason_of(&k.into())),
                        None => None,
                    };
                    deadline = session.deadline();
                }
            }
            // read
            if close.is_none() && io.tls.is_none() && app_reads {
                if ready.is_readable() {
                    io.rx_blocked = true;
                    notify = true;
                }
            } else if close.is_none() && !io.rx_eof && !io.closing && io.tls.is_none() {
                let (r, n) = io
                    .rx
                    .read_from_stream(stream, self.config.read_budget, io.rx_closed);
                bytes_in = n as u64;
                if n > 0 {
                    self.touch(&mut io.last_active);
                    notify = true;
                }
                match r {
                    Ok(Filled::Drained) => {}
                    Ok(Filled::Budget) => more = true,
                    Ok(Filled::Full) => io.rx_blocked = true,
                    Ok(Filled::Eof) => {
                        io.rx_eof = true;
                        notify = true;
                        log::debug!("server: {id}: end of data from the peer");
                    }
                    Err(e) => close = Some(reason_of(&e)),
                }
            }
            // write
            if close.is_none() && !io.tx.is_empty() && io.tls.is_none() {
                let was_full = io.tx.is_full();
                let (r, n) = io.tx.write_to(stream);
                bytes_out = n as u64;
                if n > 0 {
                    self.touch(&mut io.last_active);
                }
                if let Err(e) = r {
                    close = Some(reason_of(&e));
                } else if io.tx_blocked && (was_full || io.tx.free() > 0) && n > 0 {
                    io.tx_blocked = false;
                    notify = true;
                }
            }
            // with TLS, the session's records must be out too
            let sent_all = io.tx.is_empty() && io.tls.as_ref().is_none_or(|t| !t.wants_write());
            if close.is_none() && sent_all {
                if io.closing {
                    close = Some(CloseReason::Local);
                } else if io.shut == Shut::Requested {
                    if let Some(session) = io.tls.as_mut() {
                        session.close(stream, &mut io.tx);
                    }
                    let _ = stream.shutdown(Shutdown::Write);
                    io.shut = Shut::Done;
                } else if io.rx_eof && !self.has_app() {
                    close = Some(CloseReason::Peer);
                }
            }
            if close.is_none() {
                if let Some(idle) = self.config.idle_timeout {
                    let quiet = io.last_active.elapsed();
                    if quiet >= idle {
                        close = Some(CloseReason::Idle);
                    }
                }
            }
        }
        if bytes_in > 0 || bytes_out > 0 || handshaken {
            self.count(|st| {
                st.bytes_in += bytes_in;
                st.bytes_out += bytes_out;
                st.tls_handshakes += u64::from(handshaken);
            });
        }
        if handshaken {
            log::debug!("server: {id}: TLS handshake done");
        }
        if let Some(reason) = close {
            self.close_slot(slot, reason);
            return Served::Parked;
        }
        if notify {
            self.ready(slot);
        }
        if more {
            return Served::Again;
        }
        let idle_at = self.config.idle_timeout.and_then(|idle| {
            let last = s.io.try_borrow().ok()?.last_active;
            last.checked_add(idle)
        });
        match idle_at.into_iter().chain(deadline).min() {
            Some(at) => Served::Until(at),
            None => Served::Parked,
        }
    }

    /// Closes slot `slot` now (sends what it can first), frees it, and
    /// tells the application.
    pub(crate) fn close_slot(&self, slot: usize, reason: CloseReason) {
        let Some(s) = self.slots.get(slot) else {
            return;
        };
        if !s.open.replace(false) {
            return;
        }
        let id = ConnId {
            slot: slot as u32,
            gen: s.gen.get(),
        };
        let mut sent = 0;
        {
            let mut io = s.io.borrow_mut();
            let io = &mut *io;
            if let Some(mut stream) = io.stream.take() {
                if let Some(session) = io.tls.as_mut() {
                    // a close_notify, unless the connection is broken
                    if !matches!(
                        reason,
                        CloseReason::Tls(_) | CloseReason::Reset | CloseReason::Error(_)
                    ) {
                        session.close(&mut stream, &mut io.tx);
                    }
                } else if matches!(reason, CloseReason::Stopped | CloseReason::Local) {
                    sent = io.tx.write_to(&mut stream).1;
                }
                if let Some(t) = io.token.take() {
                    self.reactor.deregister(&mut stream, t);
                }
                drop(stream);
            }
            io.rx.clear();
            io.tx.clear();
            io.peer = None;
            io.tls = None;
        }
        s.notified.set(false);
        self.free.borrow_mut().push(slot as u32);
        self.count(|st| {
            st.closed += 1;
            st.open = st.open.saturating_sub(1);
            st.bytes_out += sent as u64;
            match reason {
                CloseReason::Reset => st.resets += 1,
                CloseReason::Idle => st.idle_closed += 1,
                CloseReason::Tls(f) => {
                    st.tls_failures += 1;
                    st.tls_timeouts += u64::from(f == TlsFailure::HandshakeTimeout);
                    st.tls_truncated += u64::from(f == TlsFailure::Truncated);
                }
                _ => {}
            }
        });
        if let CloseReason::Tls(_) = reason {
            log::warn!("server: {id} closed: {reason}");
        } else {
            log::info!("server: {id} closed: {reason}");
        }
        self.emit(ServerEvent::Closed { id, reason });
    }
}
