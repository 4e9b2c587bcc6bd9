package agent

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tenure-dev/tenure/internal/buildinfo"
	"github.com/tenure-dev/tenure/node"
	"github.com/tenure-dev/tenure/protocol"
)

// metrics are the agent's own instruments; node counters are read at
// scrape time by statsCollector.
type metrics struct {
	acquisitions *prometheus.CounterVec
	acquireTime  *prometheus.HistogramVec
	releases     *prometheus.CounterVec
	losses       *prometheus.CounterVec
	keepalives   *prometheus.CounterVec
	requests     *prometheus.CounterVec
	refused      *prometheus.CounterVec
	unavailable  *prometheus.CounterVec
	observers    prometheus.Gauge
}

func newMetrics(a *Agent) (*metrics, error) {
	m := &metrics{
		acquisitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenure_acquisitions_total",
			Help: "Acquire requests through the HTTP API, by outcome: granted, held (another holder; includes a wait that ran out while a majority answered), contended (lost to competing proposers while a majority answered), unavailable (503: too few voters answered; see tenure_unavailable_total), canceled (client went away), error.",
		}, []string{"outcome"}),
		acquireTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tenure_acquire_duration_seconds",
			Help:    "Time from an acquire request to its outcome, waiting for a holder included, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18), // 0.5ms .. ~65s
		}, []string{"outcome"}),
		releases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenure_releases_total",
			Help: "Tenures held through the agent that ended by release, by reason: client (DELETE by the holder), keepalive_timeout (freed at the keepalive expiry), disconnect (a hold stream ended; freed after the last deadline it told), shutdown (a grant made as the agent closed, told to nobody; or a hold stream's lease freed after its last deadline when the node did not leave first).",
		}, []string{"reason"}),
		losses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenure_losses_total",
			Help: "Tenures held through the agent that ended without a release, by reason: lost (renewal failed before the deadline), closed (the node stopped).",
		}, []string{"reason"}),
		keepalives: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenure_keepalives_total",
			Help: "Keepalive requests, by outcome: ok, gone (tenure over, or received after the keepalive expiry), mismatch (unknown token, or a hold-mode lease), forbidden (lease key missing or wrong), stopping (the agent is closing), bad_request.",
		}, []string{"outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenure_http_requests_total",
			Help: "HTTP API requests, by status code class (2xx, 4xx, 5xx).",
		}, []string{"code"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenure_http_refused_total",
			Help: "HTTP requests and connections refused before any handler, by reason: host (421, a Host other than localhost or an IP without a bearer token), origin (403, an Origin header without a bearer token), content_type (415, a body not declared application/json without a bearer token), unauthorized (401), read_timeout (408, a body not received within the read timeout), connections (503, over --http-max-conns), watches (503, over --http-max-watches), holds (503, over --http-max-holds).",
		}, []string{"reason"}),
		unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenure_unavailable_total",
			Help: "Requests answered 503 because too few voters answered (acquires and holder lookups; not /readyz probes), by reason: no_quorum (fewer than a majority of voters answered), quarantined (and this voter sits out its quarantine, R9), config_mismatch (and members of another cluster ID or voter list are refused, R17).",
		}, []string{"reason"}),
		observers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenure_watch_observers",
			Help: "Lease names being watched: one shared observer (one poll of the voters a second) per name, however many watch streams it has.",
		}),
	}
	gauges := []prometheus.Collector{
		gaugeFunc("tenure_http_connections", "HTTP connections open, counted against --http-max-conns.", a.conns.Load),
		gaugeFunc("tenure_http_connections_max", "The connection cap in force (--http-max-conns, lowered to fit the open-file limit).", func() int64 { return int64(a.cfg.MaxConns) }),
		gaugeFunc("tenure_watch_streams", "Watch streams (GET ?watch=1) being served.", a.watches.Load),
		gaugeFunc("tenure_watch_streams_max", "The cap on watch streams (--http-max-watches).", func() int64 { return int64(a.cfg.MaxWatches) }),
		gaugeFunc("tenure_hold_streams", "Hold-mode acquires being served (waiting for the lease or streaming).", a.holds.Load),
		gaugeFunc("tenure_hold_streams_max", "The cap on hold-mode acquires (--http-max-holds).", func() int64 { return int64(a.cfg.MaxHolds) }),
		gaugeFunc("tenure_voters_epoch", "Epoch of the voter configuration this node has adopted: 0 until the voters are changed online (tenure voters), then one more per step of a change.", func() int64 { return int64(a.n.Voters().Epoch) }),
		gaugeFunc("tenure_voters_joint", "1 while the adopted voter configuration is joint (a change is under way: a lease needs a majority of the old and of the new voters), else 0.", func() int64 {
			if a.n.Voters().Joint() {
				return 1
			}
			return 0
		}),
	}
	bi := buildinfo.Current()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tenure_build_info",
		Help: "Always 1; its labels say what the agent was built from: version (module version, or (devel)), commit (VCS revision, or unknown), goversion, wire (protocol wire format version).",
		ConstLabels: prometheus.Labels{"version": bi.Version, "commit": bi.Commit, "goversion": bi.GoVersion,
			"wire": strconv.Itoa(bi.Wire)},
	})
	buildInfo.Set(1)
	// The Go runtime's and the process's collectors, which a registry of
	// the caller's may hold already.
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := a.cfg.Registry.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return nil, fmt.Errorf("%w: Registry: %w", ErrConfig, err)
		}
	}
	for _, c := range append([]prometheus.Collector{buildInfo, m.acquisitions, m.acquireTime, m.releases, m.losses, m.keepalives, m.requests, m.refused, m.unavailable, m.observers, &statsCollector{a: a}}, gauges...) {
		if err := a.cfg.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("%w: Registry: %w", ErrConfig, err)
		}
	}
	// Series that exist from the start read 0 instead of being absent.
	for _, o := range []string{"granted", "held", "contended", "unavailable", "canceled", "error"} {
		m.acquisitions.WithLabelValues(o)
		m.acquireTime.WithLabelValues(o)
	}
	for _, o := range []string{"ok", "gone", "mismatch", "forbidden", "stopping", "bad_request"} {
		m.keepalives.WithLabelValues(o)
	}
	for _, c := range []string{"2xx", "3xx", "4xx", "5xx"} {
		m.requests.WithLabelValues(c)
	}
	for _, r := range []string{reasonClient, reasonKeepalive, reasonHangup, reasonShutdown} {
		m.releases.WithLabelValues(r)
	}
	for _, r := range []string{"lost", "closed"} {
		m.losses.WithLabelValues(r)
	}
	for _, r := range []string{node.ReasonNoQuorum, node.ReasonQuarantined, node.ReasonConfigMismatch} {
		m.unavailable.WithLabelValues(r)
	}
	for _, r := range []string{refusedHost, refusedOrigin, refusedContentType, refusedAuth, refusedReadTimeout, refusedConns, refusedWatches, refusedHolds} {
		m.refused.WithLabelValues(r)
	}
	return m, nil
}

// gaugeFunc is a gauge read from f at scrape time.
func gaugeFunc(name, help string, f func() int64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
}

// statsCollector exports node.Stats and the membership view, read at
// scrape time.
type statsCollector struct{ a *Agent }

var (
	descHeld      = prometheus.NewDesc("tenure_leases_held", "Tenures this node holds.", nil, nil)
	descPending   = prometheus.NewDesc("tenure_acquires_pending", "Acquire requests in progress or queued on this node.", nil, nil)
	descMembers   = prometheus.NewDesc("tenure_members_alive", "Nodes gossip knows as alive, this one included (a hint).", nil, nil)
	descVoters    = prometheus.NewDesc("tenure_voters", "Size of the configured voter list.", nil, nil)
	descVotersUp  = prometheus.NewDesc("tenure_voters_alive", "Configured voters gossip knows as alive (a hint).", nil, nil)
	descMajority  = prometheus.NewDesc("tenure_voter_majority", "1 if a strict majority of voters is alive by gossip, else 0.", nil, nil)
	descEra       = prometheus.NewDesc("tenure_era", "The node's era floor: the high half of the fencing tokens it issues.", nil, nil)
	descPktSent   = prometheus.NewDesc("tenure_datagrams_sent_total", "Protocol datagrams handed to the network.", nil, nil)
	descPktRecv   = prometheus.NewDesc("tenure_datagrams_received_total", "Protocol datagrams received.", nil, nil)
	descBytesSent = prometheus.NewDesc("tenure_bytes_sent_total", "Bytes of protocol datagrams sent.", nil, nil)
	descBytesRecv = prometheus.NewDesc("tenure_bytes_received_total", "Bytes of protocol datagrams received.", nil, nil)
	descDropped   = prometheus.NewDesc("tenure_datagrams_dropped_total", "Protocol datagrams or messages dropped, by reason: queue_full (received, owner behind), malformed (refused by the decoder), unroutable (to a node gossip does not know), send_error (the transport refused), identity_mismatch (from a node of another cluster ID or voter list, R17), foreign (a direct datagram with another label or key, or sealed or plain against the cluster's setting).", []string{"reason"}, nil)
	descMsgSent   = prometheus.NewDesc("tenure_messages_sent_total", "Protocol messages sent, by type (several share a datagram).", []string{"type"}, nil)
	descMsgRecv   = prometheus.NewDesc("tenure_messages_received_total", "Protocol messages received, by type.", []string{"type"}, nil)
	descRounds    = prometheus.NewDesc("tenure_rounds_total", "Protocol rounds started, by kind: acquire or renew.", []string{"kind"}, nil)
	descRoundLost = prometheus.NewDesc("tenure_rounds_lost_total", "Acquire rounds that failed, by cause: contended (a competing ballot, or no majority in time) or blocked (voters reported a live lease).", []string{"cause"}, nil)
	descQuar      = prometheus.NewDesc("tenure_quarantined", "1 while this voter sits out the quarantine of a crashed start (R9), else 0.", nil, nil)
	descQuarLeft  = prometheus.NewDesc("tenure_quarantine_remaining_seconds", "How long this voter's quarantine has to go.", nil, nil)
	descMismatch  = prometheus.NewDesc("tenure_members_mismatched", "Members gossip knows whose cluster ID or voter list differs from this node's (R17); anything but 0 is a misconfiguration.", nil, nil)
	descDupNames  = prometheus.NewDesc("tenure_duplicate_names_total", "Conflicts over a node name seen in gossip: another live process claiming this node's name, or two claiming another member's (R18).", nil, nil)
	descVerifying = prometheus.NewDesc("tenure_start_verifying", "1 while this voter's start waits for the other voters to confirm it is not a stale copy of its data dir (R18), else 0.", nil, nil)
	descStale     = prometheus.NewDesc("tenure_start_stale", "1 if this start was found stale (a restored, copied or wiped data dir) or could not be verified, and became a crashed start (R18), else 0.", nil, nil)
	descRenewal   = prometheus.NewDesc("tenure_renewal_duration_seconds", "Latency of this node's renewal rounds that won: from the round's first Propose to the accept of a majority of voters.", nil, nil)
	descAgentHeld = prometheus.NewDesc("tenure_agent_leases", "Tenures held through this agent's HTTP API, by mode (keepalive, hold).", []string{"mode"}, nil)
)

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHeld, descPending, descMembers, descVoters, descVotersUp, descMajority, descEra,
		descPktSent, descPktRecv, descBytesSent, descBytesRecv, descDropped, descAgentHeld,
		descMsgSent, descMsgRecv, descRounds, descRoundLost, descQuar, descQuarLeft,
		descMismatch, descDupNames, descVerifying, descStale, descRenewal} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. It never blocks on the node's
// owner goroutine.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.a.n.Stats()
	q := c.a.membership().Quorum
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descHeld, float64(s.Held))
	gauge(descPending, float64(s.Pending))
	gauge(descMembers, float64(s.Members))
	gauge(descVoters, float64(q.Voters))
	gauge(descVotersUp, float64(q.Alive))
	majority := 0.0
	if q.Majority {
		majority = 1
	}
	gauge(descMajority, majority)
	gauge(descEra, float64(s.Era))
	counter(descPktSent, s.PacketsSent)
	counter(descPktRecv, s.PacketsReceived)
	counter(descBytesSent, s.BytesSent)
	counter(descBytesRecv, s.BytesReceived)
	counter(descDropped, s.DroppedFull, "queue_full")
	counter(descDropped, s.DroppedMalformed, "malformed")
	counter(descDropped, s.DroppedUnroutable, "unroutable")
	counter(descDropped, s.SendErrors, "send_error")
	counter(descDropped, s.MismatchedDatagrams, "identity_mismatch")
	counter(descDropped, s.DroppedForeign, "foreign")
	p := s.Protocol
	for t := 1; t < protocol.NumMsgTypes; t++ {
		name := protocol.MsgType(t).String()
		counter(descMsgSent, p.Sent[t], name)
		counter(descMsgRecv, p.Received[t], name)
	}
	counter(descRounds, p.Rounds, "acquire")
	counter(descRounds, p.Renewals, "renew")
	counter(descRoundLost, p.Contended, "contended")
	counter(descRoundLost, p.Blocked, "blocked")
	quarantined := 0.0
	if s.Quarantined {
		quarantined = 1
	}
	gauge(descQuar, quarantined)
	gauge(descQuarLeft, s.QuarantineLeft.Seconds())
	gauge(descMismatch, float64(s.MismatchedMembers))
	counter(descDupNames, s.DuplicateNames)
	gauge(descVerifying, b2f(s.Verifying))
	gauge(descStale, b2f(s.StaleStart))
	ch <- renewalHistogram(s.Renewal)
	var keep, hold int
	for _, g := range c.a.grants(time.Now()) {
		if g.Mode == "hold" {
			hold++
		} else {
			keep++
		}
	}
	gauge(descAgentHeld, float64(keep), "keepalive")
	gauge(descAgentHeld, float64(hold), "hold")
}

// b2f is 1 for true, 0 for false: the value of a boolean gauge.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// renewalHistogram is the node's renewal latency as a Prometheus
// histogram, in seconds.
func renewalHistogram(l node.Latency) prometheus.Metric {
	buckets := make(map[float64]uint64, len(l.Buckets))
	for i, c := range l.Buckets {
		buckets[node.LatencyBuckets[i].Seconds()] = c
	}
	return prometheus.MustNewConstHistogram(descRenewal, l.Count, l.Sum.Seconds(), buckets)
}
