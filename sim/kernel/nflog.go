package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// nfnetlink_log constants (linux/netfilter/nfnetlink_log.h); x/sys/unix
// does not define them.
const (
	nfulnlMsgPacket = 0
	nfulnlMsgConfig = 1

	nfulaCfgCmd     = 1
	nfulaCfgMode    = 2
	nfulaCfgTimeout = 3
	nfulaCfgQthresh = 4

	nfulnlCfgCmdBind   = 1
	nfulnlCfgCmdUnbind = 2
	nfulnlCopyPacket   = 2

	nfulaPacketHdr     = 1
	nfulaIfindexIndev  = 4
	nfulaIfindexOutdev = 5
	nfulaPayload       = 9
	nfulaPrefix        = 10
)

// logEvent is one NFLOG message: where the observer saw a packet, and the
// packet (IPv4 or IPv6, from the network header on) as it was at that point.
type logEvent struct {
	prefix  string
	hook    uint8
	indev   uint32
	outdev  uint32
	payload []byte
}

// nflog is a netlink socket bound to one NFLOG group of the namespace it
// was created in.
type nflog struct {
	fd    int
	group uint16
	seq   uint32
	buf   []byte
}

// openNflog binds group in the calling thread's network namespace, copying
// whole packets and flushing each message at once.
func openNflog(group uint16) (*nflog, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("nflog socket: %w", err)
	}
	n := &nflog{fd: fd, group: group, buf: make([]byte, 1<<20)}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nflog bind: %w", err)
	}
	mode := make([]byte, 6)
	binary.BigEndian.PutUint32(mode, 0xffff) // copy range
	mode[4] = nfulnlCopyPacket
	if err := n.config(nla(nfulaCfgCmd, []byte{nfulnlCfgCmdBind})); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nflog bind group %d: %w", group, err)
	}
	cfg := append(nla(nfulaCfgMode, mode), nla(nfulaCfgQthresh, be32(1))...)
	cfg = append(cfg, nla(nfulaCfgTimeout, be32(1))...)
	if err := n.config(cfg); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nflog configure group %d: %w", group, err)
	}
	return n, nil
}

func be32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

// nla encodes one netlink attribute, padded to 4 bytes.
func nla(typ uint16, data []byte) []byte {
	l := 4 + len(data)
	b := make([]byte, (l+3)&^3)
	binary.NativeEndian.PutUint16(b[0:], uint16(l))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[4:], data)
	return b
}

// config sends an NFULNL_MSG_CONFIG request and waits for its ack.
func (n *nflog) config(attrs []byte) error {
	n.seq++
	msg := make([]byte, unix.NLMSG_HDRLEN+4, unix.NLMSG_HDRLEN+4+len(attrs))
	putNlmsghdr(msg, unix.NFNL_SUBSYS_ULOG<<8|nfulnlMsgConfig, unix.NLM_F_REQUEST|unix.NLM_F_ACK, n.seq)
	msg[unix.NLMSG_HDRLEN] = unix.AF_UNSPEC
	msg[unix.NLMSG_HDRLEN+1] = unix.NFNETLINK_V0
	binary.BigEndian.PutUint16(msg[unix.NLMSG_HDRLEN+2:], n.group)
	msg = append(msg, attrs...)
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	if err := unix.Sendto(n.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	return readAck(n.fd, n.seq)
}

// putNlmsghdr writes a netlink header for a message of len(msg) bytes.
func putNlmsghdr(msg []byte, typ, flags uint16, seq uint32) {
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags)
	binary.NativeEndian.PutUint32(msg[8:], seq)
}

// readAck waits (at most 5 s) for the netlink ack of request seq on fd,
// skipping other messages, and returns the error it carries.
func readAck(fd int, seq uint32) error {
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	defer func() {
		var zero unix.Timeval
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &zero)
	}()
	buf := make([]byte, 1<<16)
	for {
		m, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink ack: %w", err)
		}
		for off := 0; off+unix.NLMSG_HDRLEN <= m; {
			l := int(binary.NativeEndian.Uint32(buf[off:]))
			typ := binary.NativeEndian.Uint16(buf[off+4:])
			s := binary.NativeEndian.Uint32(buf[off+8:])
			if l < unix.NLMSG_HDRLEN || off+l > m {
				break
			}
			if typ == unix.NLMSG_ERROR && s == seq && l >= unix.NLMSG_HDRLEN+4 {
				if e := int32(binary.NativeEndian.Uint32(buf[off+unix.NLMSG_HDRLEN:])); e != 0 {
					return unix.Errno(-e)
				}
				return nil
			}
			off += (l + 3) &^ 3
		}
	}
}

func (n *nflog) close() {
	_ = n.config(nla(nfulaCfgCmd, []byte{nfulnlCfgCmdUnbind}))
	unix.Close(n.fd)
}

// drain returns the events already queued, without waiting.
func (n *nflog) drain() ([]logEvent, error) {
	var out []logEvent
	for {
		m, _, err := unix.Recvfrom(n.fd, n.buf, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("nflog receive: %w", err)
		}
		out = append(out, parseNflog(n.buf[:m])...)
	}
}

// waitFor reads events until done reports true for one of them, or timeout.
// It returns every event read; found tells whether done was satisfied.
func (n *nflog) waitFor(done func(logEvent) bool, timeout time.Duration) (events []logEvent, found bool, err error) {
	deadline := time.Now().Add(timeout)
	for {
		evs, err := n.drain()
		events = append(events, evs...)
		if err != nil {
			return events, false, err
		}
		for _, e := range evs {
			if done(e) {
				return events, true, nil
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return events, false, nil
		}
		pfd := []unix.PollFd{{Fd: int32(n.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, int(left/time.Millisecond)+1); err != nil && !errors.Is(err, unix.EINTR) {
			return events, false, fmt.Errorf("nflog poll: %w", err)
		}
	}
}

// parseNflog decodes the NFULNL_MSG_PACKET messages of one netlink read.
func parseNflog(b []byte) []logEvent {
	var out []logEvent
	for off := 0; off+unix.NLMSG_HDRLEN <= len(b); {
		l := int(binary.NativeEndian.Uint32(b[off:]))
		typ := binary.NativeEndian.Uint16(b[off+4:])
		if l < unix.NLMSG_HDRLEN || off+l > len(b) {
			break
		}
		msg := b[off+unix.NLMSG_HDRLEN : off+l]
		off += (l + 3) &^ 3
		if typ != unix.NFNL_SUBSYS_ULOG<<8|nfulnlMsgPacket || len(msg) < 4 {
			continue
		}
		var e logEvent
		for a := 4; a+4 <= len(msg); {
			alen := int(binary.NativeEndian.Uint16(msg[a:]))
			atype := binary.NativeEndian.Uint16(msg[a+2:]) & 0x3fff
			if alen < 4 || a+alen > len(msg) {
				break
			}
			val := msg[a+4 : a+alen]
			switch atype {
			case nfulaPacketHdr:
				if len(val) >= 3 {
					e.hook = val[2]
				}
			case nfulaIfindexIndev:
				if len(val) >= 4 {
					e.indev = binary.BigEndian.Uint32(val)
				}
			case nfulaIfindexOutdev:
				if len(val) >= 4 {
					e.outdev = binary.BigEndian.Uint32(val)
				}
			case nfulaPayload:
				e.payload = append([]byte(nil), val...)
			case nfulaPrefix:
				for i, c := range val {
					if c == 0 {
						val = val[:i]
						break
					}
				}
				e.prefix = string(val)
			}
			a += (alen + 3) &^ 3
		}
		out = append(out, e)
	}
	return out
}
