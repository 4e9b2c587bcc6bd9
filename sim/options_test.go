package sim

import (
	"errors"
	"testing"
	"time"
)

// TestQuarantineModeValidate: Options.Quarantine is used only with
// QuarantineFixed, and then must be positive; an unknown mode is refused.
func TestQuarantineModeValidate(t *testing.T) {
	cases := []struct {
		mode QuarantineMode
		q    time.Duration
		ok   bool
	}{
		{QuarantineSafe, 0, true},
		{QuarantineNone, 0, true},
		{QuarantineFixed, time.Second, true},
		{QuarantineFixed, 0, false},
		{QuarantineFixed, -time.Second, false},
		{QuarantineSafe, time.Second, false},
		{QuarantineNone, time.Second, false},
		{QuarantineFixed + 1, 0, false},
		{-1, 0, false},
	}
	for _, c := range cases {
		o := DefaultOptions()
		o.QuarantineMode, o.Quarantine = c.mode, c.q
		err := o.Validate()
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrOptions)) {
			t.Errorf("mode %d, quarantine %v: Validate = %v, want ok %v", c.mode, c.q, err, c.ok)
		}
	}
}

// TestFaultKindsTable: every fault kind has a name, a flag, a rate in
// Options and an inject function; preset kinds give a rate per preset;
// an unknown kind is refused rather than read as some other kind.
func TestFaultKindsTable(t *testing.T) {
	flags := map[string]bool{}
	for _, k := range faultKinds {
		if k.Name == "" || k.Flag == "" || k.Usage == "" || k.Rate == nil || k.inject == nil {
			t.Errorf("fault kind %+v: incomplete row", k.Name)
		}
		if flags[k.Flag] {
			t.Errorf("flag %q used twice", k.Flag)
		}
		flags[k.Flag] = true
		if k.Preset != nil && len(k.Preset) != int(FaultsHarsh) {
			t.Errorf("fault kind %s: %d preset rates, want %d", k.Name, len(k.Preset), FaultsHarsh)
		}
	}
	for _, p := range []FaultPreset{FaultsNone, FaultsMild, FaultsHarsh} {
		o := DefaultOptions()
		o.Faults = Preset(p)
		for _, k := range faultKinds {
			if k.Preset != nil && *k.Rate(&o) != k.Preset[p-FaultsNone] {
				t.Errorf("preset %d: %s rate %v, want %v", p, k.Name, *k.Rate(&o), k.Preset[p-FaultsNone])
			}
		}
	}
	for _, k := range []int{0, len(faultKinds) + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("faultKind(%d) did not refuse an unknown kind", k)
				}
			}()
			faultKind(k)
		}()
	}
}
