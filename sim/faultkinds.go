package sim

import (
	"fmt"
	"slices"
)

// FaultKind is one random fault generator of the workload: a Poisson
// process of its own whose rate lives in Options. faultKinds lists every
// kind; adding one means a row there and its inject function (plus, if its
// rate is new, the Options field the row points at).
type FaultKind struct {
	// Name names the kind in errors ("partition").
	Name string
	// Flag is the `tenure sim` flag that sets the rate; Usage its help.
	Flag, Usage string
	// Preset holds the rates of the --faults presets none, mild and harsh
	// (in FaultPreset order), for a kind the presets set; nil for a kind
	// they leave at its DefaultOptions value.
	Preset []float64
	// Rate points at the kind's rate in o: mean arrivals per simulated
	// minute for the whole cluster.
	Rate func(o *Options) *float64
	// off, if set, switches the kind off whatever its rate.
	off func(o *Options) bool
	// inject makes one fault of the kind happen now.
	inject func(s *Sim)
}

// faultKinds are the fault kinds; kind k (Event aux) is faultKinds[k-1].
// The order is the order New draws their first arrivals in: changing it
// changes every trace digest.
var faultKinds = []FaultKind{
	{
		Name: "partition", Flag: "partitions", Usage: "partitions per simulated minute (default: the preset's)",
		Preset: []float64{0, 1, 4},
		Rate:   func(o *Options) *float64 { return &o.Faults.Partitions },
		inject: (*Sim).randomPartition,
	},
	{
		Name: "crash", Flag: "crashes", Usage: "crashes and clean restarts per simulated minute (default: the preset's)",
		Preset: []float64{0, 1, 4},
		Rate:   func(o *Options) *float64 { return &o.Faults.Crashes },
		inject: (*Sim).randomCrash,
	},
	{
		Name: "pause", Flag: "pauses", Usage: "process pauses per simulated minute (default: the preset's)",
		Preset: []float64{0, 2, 6},
		Rate:   func(o *Options) *float64 { return &o.Faults.Pauses },
		inject: (*Sim).randomPause,
	},
	{
		Name: "restore", Flag: "restores", Usage: "operator: data-dir backups and restores of voters per simulated minute (never beyond the limit below)",
		Rate:   func(o *Options) *float64 { return &o.Operator.Restores },
		inject: (*Sim).randomRestore,
	},
	{
		Name: "wipe", Flag: "wipes", Usage: "operator: voters restarted with an empty data dir per simulated minute (never beyond the limit below)",
		Rate:   func(o *Options) *float64 { return &o.Operator.Wipes },
		inject: (*Sim).randomWipe,
	},
	{
		Name: "agent stop", Flag: "agent-stops", Usage: "edge: agent stops (and restarts) per simulated minute",
		Rate:   func(o *Options) *float64 { return &o.Edge.Stops },
		off:    func(o *Options) bool { return o.Edge.Agents == 0 },
		inject: (*Sim).randomAgentStop,
	},
	{
		Name: "reconfig", Flag: "reconfigs", Usage: "voter changes (add, remove, replace, 3->5->3) per simulated minute, some interrupted or concurrent (default 0: off)",
		Rate:   func(o *Options) *float64 { return &o.Reconfig.Changes },
		inject: (*Sim).randomReconfig,
	},
}

// FaultKinds lists the fault kinds, for the flags of `tenure sim`.
func FaultKinds() []FaultKind { return slices.Clone(faultKinds) }

// faultKind is the row of kind k; an unknown kind is a bug of the
// simulator, not a rate of zero or of some other kind.
func faultKind(k int) *FaultKind {
	if k < 1 || k > len(faultKinds) {
		panic(fmt.Sprintf("sim: unknown fault kind %d", k))
	}
	return &faultKinds[k-1]
}

// faultRate is kind k's effective rate in this run.
func (s *Sim) faultRate(k int) float64 {
	fk := faultKind(k)
	if fk.off != nil && fk.off(&s.opts) {
		return 0
	}
	return *fk.Rate(&s.opts)
}
