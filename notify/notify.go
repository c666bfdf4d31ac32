// Package notify turns failoverd events into syslog messages (RFC 3164 or
// RFC 5424 over UDP or TCP) and e-mails, following docs/behaviour.md section 8.
//
// The Dispatcher never blocks its caller: Publish formats the messages an
// event calls for and puts them on a queue per sink (one per distinct
// syslog destination, one for SMTP), bounded in messages and in bytes. Run
// delivers them with retry and backoff; messages that cannot be queued or
// delivered are dropped, counted in failoverd_notify_dropped_total and
// logged.
//
// Values that come from a probed target reach a syslog frame or an e-mail
// only through Escape (control characters written out), and the probe
// message is capped at MaxMessageBytes: a hostile target cannot forge
// syslog lines or mail headers, nor fill the queues.
//
// Delivery is at least once per sink: a message is retried until the
// receiver confirms it (SMTP) or the socket accepts it (syslog). Syslog
// messages leave in order, one worker per destination; e-mails go out
// through Options.MailWorkers concurrent sessions, so one session stalled by
// the server does not hold back the others (and mails may be reordered;
// each carries its event time in its Date).
// TCP syslog reconnects when the receiver closes the connection; a UDP
// receiver that is down silently misses what is sent before the ICMP
// errors come back.
package notify

import (
	"context"
	"slices"
	"time"
)

// Event kinds (Event.Kind).
const (
	KindIP    = "ip"    // a pool address changed status
	KindSvc   = "svc"   // a region's or service's status changed
	KindNoSrv = "nosrv" // an address with serve_mode "no" changed status
	KindRound = "round" // a completed probe round that changed nothing
	KindEP    = "ep"    // an rttm region's eligibility pool changed
	KindPerf  = "perf"  // an rttm performance round completed
)

// An Event is one thing that happened to one service; the Route says
// where that service's messages go. An address that sits in several
// regions is published once per region, each with its own Region.
type Event struct {
	Kind      string // KindIP, KindSvc, KindNoSrv, KindRound, KindEP or KindPerf
	Service   string // fqdn
	Region    string
	Address   string
	OldStatus string
	NewStatus string // also Vars.Status
	Vars      Vars
}

// SyslogRoute is a service's "syslog" block. Empty fields take the
// documented defaults (see WithDefaults).
type SyslogRoute struct {
	Server       string
	Port         int
	Transport    string // udp | tcp
	Protocol     string // rfc3164 | rfc5424
	Ident        string
	Facility     string
	Delivery     string // change | all
	ProbeFormat  string
	StatusFormat string
	RTTMFormat   string
}

// WithDefaults returns r with every empty field set to its documented
// default: port 514, udp, rfc3164, ident "dynect", facility daemon,
// delivery change and the default formats.
func (r SyslogRoute) WithDefaults() SyslogRoute {
	if r.Port == 0 {
		r.Port = DefaultPort
	}
	if r.Transport == "" {
		r.Transport = TransportUDP
	}
	if r.Protocol == "" {
		r.Protocol = ProtocolRFC3164
	}
	if r.Ident == "" {
		r.Ident = DefaultIdent
	}
	if r.Facility == "" {
		r.Facility = DefaultFacility
	}
	if r.Delivery == "" {
		r.Delivery = DeliveryChange
	}
	if r.ProbeFormat == "" {
		r.ProbeFormat = DefaultProbeFormat
	}
	if r.StatusFormat == "" {
		r.StatusFormat = DefaultStatusFormat
	}
	if r.RTTMFormat == "" {
		r.RTTMFormat = DefaultRTTMFormat
	}
	return r
}

// Dest returns the destination (sink identity) of the route.
func (r SyslogRoute) Dest() SyslogDest {
	r = r.WithDefaults()
	return SyslogDest{Server: r.Server, Port: r.Port, Transport: r.Transport, Protocol: r.Protocol}
}

// Route says where one service's messages go.
type Route struct {
	Syslog       *SyslogRoute // nil: no syslog block
	Emails       []string     // the contact's addresses
	NotifyEvents []string     // e-mail filter: ip, svc, nosrv (an sf_pool's route lists svc: every status change)
}

// SyslogText returns the syslog message text an event calls for under
// route r (docs/behaviour.md section 8), and false when it calls for none:
// ip and nosrv give a probe message (probe_fmt), round a probe message only
// with delivery all, svc a status message (status_fmt), ep an rttm message
// (rttm_fmt), perf an rttm message only with delivery all.
func SyslogText(ev Event, r SyslogRoute) (string, bool) {
	r = r.WithDefaults()
	v := eventVars(ev)
	all := r.Delivery == DeliveryAll
	switch ev.Kind {
	case KindIP, KindNoSrv, KindRound:
		if ev.Kind == KindRound && !all {
			return "", false
		}
		v.Median, v.HasMedian, v.RTTs = 0, false, nil
		return Format(r.ProbeFormat, v), true
	case KindSvc:
		v.RTT, v.HasRTT, v.Message, v.Address = 0, false, "", ""
		v.Median, v.HasMedian, v.RTTs = 0, false, nil
		return Format(r.StatusFormat, v), true
	case KindEP, KindPerf:
		if ev.Kind == KindPerf && !all {
			return "", false
		}
		return Format(r.RTTMFormat, v), true
	}
	return "", false
}

// WantsMail reports whether an event is e-mailed under route r: its kind
// is ip, svc or nosrv and listed in NotifyEvents. Rounds and rttm events
// are never mailed.
func WantsMail(ev Event, r Route) bool {
	if len(r.Emails) == 0 {
		return false
	}
	switch ev.Kind {
	case KindIP, KindSvc, KindNoSrv:
		return slices.Contains(r.NotifyEvents, ev.Kind)
	}
	return false
}

// eventVars returns ev.Vars with the status, region and address the
// Event carries itself (they win when set) and a time.
func eventVars(ev Event) Vars {
	v := ev.Vars
	if ev.NewStatus != "" {
		v.Status = ev.NewStatus
	}
	if ev.Region != "" {
		v.Region = ev.Region
	}
	if ev.Address != "" {
		v.Address = ev.Address
	}
	if v.Time.IsZero() {
		v.Time = time.Now()
	}
	return v
}

// Sink delivers one queued message to one destination; the Dispatcher owns
// queueing, retries and metrics. It calls a syslog sink from one goroutine
// and the e-mail sink from Options.MailWorkers goroutines.
type Sink interface {
	// Kind is the metric label of the sink: "syslog" or "email".
	Kind() string
	// Deliver sends m once, honouring ctx.
	Deliver(ctx context.Context, m Message) error
	// Close releases connections.
	Close() error
}

// Message is one queued notification: a framed syslog message or a Mail.
type Message struct {
	Syslog []byte
	Mail   *Mail
	Desc   string // for logs: service and event
}
