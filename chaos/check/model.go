package check

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"
)

// regState is the model's state of one key.
type regState struct {
	value   string
	token   uint64 // token of the write that stored value; 0: never written
	highest uint64 // highest token accepted (the fence's floor)
}

// regInput is a read or a write of one key.
type regInput struct {
	key   string
	write bool
	value string // write: the value sent
	token uint64 // write: the token sent
}

// regOutput is what the register answered.
type regOutput struct {
	outcome Outcome // Ok, Fail (a write refused as stale) or Unknown (writes only)
	value   string  // read: the value returned
	token   uint64  // read: the token returned with it
}

// RegisterModel is the porcupine model of the fenced register, one
// partition per key (see the package documentation, section 2).
func RegisterModel() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
			byKey := make(map[string][]porcupine.Operation)
			var keys []string
			for _, op := range ops {
				k := op.Input.(regInput).key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			sort.Strings(keys)
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() []any { return []any{regState{}} },
		Step: func(state, input, output any) []any {
			return step(state.(regState), input.(regInput), output.(regOutput))
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(regInput), output.(regOutput)
			if !in.write {
				return fmt.Sprintf("read(%s) -> %q@%d", in.key, out.value, out.token)
			}
			res := out.outcome.String()
			if out.outcome == Fail {
				res = "stale"
			}
			return fmt.Sprintf("write(%s, %q@%d) -> %s", in.key, in.value, in.token, res)
		},
		DescribeState: func(state any) string {
			s := state.(regState)
			return fmt.Sprintf("%q@%d floor %d", s.value, s.token, s.highest)
		},
	}
	return nm.ToModel()
}

// step returns every state the register can be in after answering out to in
// from state s; none if that answer is impossible.
func step(s regState, in regInput, out regOutput) []any {
	if !in.write {
		if out.value == s.value && out.token == s.token {
			return []any{s}
		}
		return nil
	}
	fresh := in.token >= s.highest
	applied := regState{value: in.value, token: in.token, highest: in.token}
	switch out.outcome {
	case Ok:
		if fresh {
			return []any{applied}
		}
	case Fail:
		if !fresh {
			return []any{s}
		}
	case Unknown:
		if !fresh {
			return []any{s}
		}
		floorOnly := s
		floorOnly.highest = in.token
		return []any{s, floorOnly, applied}
	}
	return nil
}

// Operations converts the register part of h (reads that got an answer and
// all writes) into porcupine operations. Unknown writes end at h's cut: they
// may take effect at any moment until the register was restarted.
func (h *History) Operations() []porcupine.Operation {
	cut := h.cut()
	var ops []porcupine.Operation
	for _, op := range h.Ops {
		switch {
		case op.Kind == Read && op.Outcome == Ok:
			ops = append(ops, porcupine.Operation{
				ClientId: op.Client,
				Input:    regInput{key: op.Key},
				Output:   regOutput{outcome: Ok, value: op.Value, token: op.Token},
				Call:     op.Start, Return: op.End,
			})
		case op.Kind == Write:
			end := op.End
			out := regOutput{outcome: op.Outcome}
			if op.Outcome == Fail && !op.Stale {
				continue // a 400: the register refused it before any effect
			}
			if op.Outcome == Unknown {
				end = max(cut, op.End)
			}
			ops = append(ops, porcupine.Operation{
				ClientId: op.Client,
				Input:    regInput{key: op.Key, write: true, value: op.Value, token: op.Token},
				Output:   out,
				Call:     op.Start, Return: end,
			})
		}
	}
	return ops
}
