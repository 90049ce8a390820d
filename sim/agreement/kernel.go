package agreement

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/dfw-project/dfw/sim/kernel"
)

// KernelRun sends every flow of c through the topology and returns the
// kernel's answers, one slice per flow.
func KernelRun(topo *kernel.Topology, c *Case, root string) ([][]Answer, error) {
	srcs, err := c.Sources(root)
	if err != nil {
		return nil, err
	}
	if err := topo.Reset(); err != nil {
		return nil, err
	}
	var overlays [][]byte
	for _, s := range srcs[1:] {
		overlays = append(overlays, s.Data)
	}
	family := kernel.IPv4
	if c.IPv6() {
		family = kernel.IPv6
	}
	if err := topo.LoadFamily(family, srcs[0].Data, overlays...); err != nil {
		return nil, fmt.Errorf("case %s: %w", c.Name, err)
	}
	var out [][]Answer
	for _, f := range c.Flows {
		flow, err := topo.NewFlow()
		if err != nil {
			return nil, err
		}
		var answers []Answer
		for i, p := range f.Packets {
			if ref := max(p.ReplyTo, p.RelatedTo); ref > 0 && !Answerable(answers[ref-1]) {
				answers = append(answers, Answer{Disposition: Skipped, Hits: []string{}})
				continue
			}
			kp, err := toKernel(p)
			if err != nil {
				return nil, fmt.Errorf("case %s flow %s packet %d: %w", c.Name, f.Name, i+1, err)
			}
			obs, err := flow.Send(kp)
			if err != nil {
				return nil, fmt.Errorf("case %s flow %s packet %d: %w", c.Name, f.Name, i+1, err)
			}
			answers = append(answers, fromObservation(obs))
		}
		out = append(out, answers)
	}
	return out, nil
}

func toKernel(p Packet) (kernel.Packet, error) {
	kp := kernel.Packet{
		From: p.From, Proto: p.Proto, Sport: uint16(p.Sport), Dport: uint16(p.Dport),
		Flags: p.Flags, ICMPType: uint8(p.ICMPType), ICMPCode: uint8(p.ICMPCode),
		TTL: uint8(p.TTL), TOS: uint8(p.TOS), ReplyTo: p.ReplyTo, RelatedTo: p.RelatedTo,
	}
	var err error
	if p.Src != "" {
		if kp.Src, err = netip.ParseAddr(p.Src); err != nil {
			return kp, err
		}
	}
	if p.Dst != "" {
		if kp.Dst, err = netip.ParseAddr(p.Dst); err != nil {
			return kp, err
		}
	}
	return kp, nil
}

func fromObservation(o kernel.Observation) Answer {
	a := Answer{Disposition: o.Disposition, DroppedIn: o.DroppedIn, RejectWith: o.RejectWith, Out: o.Out}
	a.arrived = o.Disposition == kernel.Delivered || o.ArrivedIn != ""
	if o.Disposition != kernel.Dropped && o.Disposition != kernel.Rejected {
		a.Seen = SeenString(o.Seen.Proto, o.Seen.Src, o.Seen.Sport, o.Seen.Dst, o.Seen.Dport)
	}
	for _, h := range o.Hits {
		for i := 0; i < h.Count; i++ {
			a.Hits = append(a.Hits, HitName(h.Table, h.Chain, h.Rule))
		}
	}
	a.Hits = SortHits(a.Hits)
	return a
}

// Skipped is the disposition recorded for a reply or ICMP error about a
// packet that never arrived anywhere: there is nothing to answer.
const Skipped = "skipped"

// Answerable reports whether a packet with this answer can be replied to.
func Answerable(a Answer) bool {
	return a.arrived
}

// SeenString renders a packet's addresses as compared.
func SeenString(proto string, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) string {
	var b bytes.Buffer
	b.WriteString(proto)
	b.WriteByte(' ')
	b.WriteString(src.String())
	if proto == "tcp" || proto == "udp" {
		fmt.Fprintf(&b, ":%d", sport)
	}
	b.WriteString(" > ")
	b.WriteString(dst.String())
	if proto == "tcp" || proto == "udp" {
		fmt.Fprintf(&b, ":%d", dport)
	}
	return b.String()
}

// HitName names a rule (rule 0: the policy) as compared.
func HitName(table, chain string, rule int) string {
	return fmt.Sprintf("%s:%s#%d", table, chain, rule)
}
