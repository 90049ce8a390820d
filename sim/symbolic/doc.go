// Package symbolic evaluates sets of first packets (packets that find no
// conntrack entry) through the same netfilter path as package sim: raw,
// conntrack, mangle and nat PREROUTING, routing, INPUT or FORWARD and
// POSTROUTING, or local output through OUTPUT and POSTROUTING (and back
// in through lo), with DNAT, SNAT, MASQUERADE, REDIRECT, marks and
// connection marks.
//
// A set of packets (a pset.Set over the packet's fields as it arrived) is
// split at every rule into the part the rule matches and the part it does
// not, and at every routing decision by destination. Each leaf is a Class:
// a set of packets that all get the same verdict, disposition and trace, a
// witness packet from the set, and the NAT the class underwent. A concrete
// packet of a class gets, from sim.New(rs, host).Run, exactly the class's
// answer (the random agreement test checks this).
//
// What sets cannot carry is kept as per-class context: the interfaces,
// the marks and the NAT rewrites are constants of a class (a DNAT target
// has one destination); the conntrack tuple of a first packet is the
// packet's own tuple before NAT, so --ctorig*/--ctrepl* are read from the
// packet's fields; the address type and packet type are functions of the
// (current) addresses and of the host model, substituted into each rule's
// set.
//
// Budgets (Options) bound the classes, the BDD nodes and the time of one
// evaluation; when one is hit the result carries an Incomplete and the
// classes given cover only part of the input set.
//
// On top of the evaluator: Exposure (new connections from outside accepted
// per external interface), Diff (the packets whose outcome changes between
// two rulesets), Established (the fate of replies) and Reachable (one
// question), with text and JSON writers for dfwlint and classes for
// dfwsim's open fields. docs/analysis.md describes the model and limits.
package symbolic
