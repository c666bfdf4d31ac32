package notify

import (
	"strconv"
	"strings"
	"time"
)

// DefaultProbeFormat is the documented default of syslog probe_fmt.
const DefaultProbeFormat = "%hos probe %tim: %sit %sta %rti%msg%adr"

// DefaultStatusFormat is the documented default of syslog status_fmt.
const DefaultStatusFormat = "%hos status %tim: %reg %sta %ser %rda"

// DefaultRTTMFormat is the documented default of syslog rttm_fmt.
const DefaultRTTMFormat = "%hos rttm %tim: %reg %sta %med %rts"

// Vars holds the values the %xxx variables of a syslog format render
// (docs/behaviour.md section 8, "Format variables").
type Vars struct {
	Hostname  string          // %hos: server.hostname
	Time      time.Time       // %tim: time of the event, rendered RFC 3339 in UTC
	Region    string          // %reg
	Status    string          // %sta
	Serial    uint32          // %ser: zone SOA serial
	Rdata     []string        // %rda: served rdata, comma-separated
	Site      string          // %sit: monitoring site code
	RTT       time.Duration   // %rti when HasRTT
	HasRTT    bool            // whether RTT is set
	Message   string          // %msg: the probe's message
	Address   string          // %adr: the probed address
	Median    time.Duration   // %med when HasMedian
	HasMedian bool            // whether Median is set
	RTTs      []time.Duration // %rts: response times of an rttm round
}

// seconds renders d in seconds with three decimals ("0.012").
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// render returns the value of the variable name (without %) and whether
// name is a known variable. Every value goes through Escape, and %msg is
// capped at MaxMessageBytes: the message comes from the probed target.
func (v *Vars) render(name string) (string, bool) {
	switch name {
	case "msg":
		if v.Message == "" {
			return "", true
		}
		return escapeCapped(v.Message, MaxMessageBytes) + " ", true
	case "rti":
		if !v.HasRTT {
			return "", true
		}
		return seconds(v.RTT) + " ", true
	}
	s, ok := v.renderRaw(name)
	return Escape(s), ok
}

// renderRaw returns the unescaped value of every variable but %msg and %rti.
func (v *Vars) renderRaw(name string) (string, bool) {
	switch name {
	case "hos":
		return v.Hostname, true
	case "tim":
		if v.Time.IsZero() {
			return "", true
		}
		return v.Time.UTC().Format(time.RFC3339), true
	case "reg":
		return v.Region, true
	case "sta":
		return v.Status, true
	case "ser":
		return strconv.FormatUint(uint64(v.Serial), 10), true
	case "rda":
		return strings.Join(v.Rdata, ","), true
	case "sit":
		return v.Site, true
	case "adr":
		return v.Address, true
	case "med":
		if !v.HasMedian {
			return "", true
		}
		return seconds(v.Median), true
	case "rts":
		parts := make([]string, len(v.RTTs))
		for i, d := range v.RTTs {
			parts[i] = seconds(d)
		}
		return strings.Join(parts, ","), true
	}
	return "", false
}

// Format renders format, replacing every %xxx variable of docs/behaviour.md
// section 8 with its value from v, escaped (see Escape); any other %
// sequence is copied unchanged.
func Format(format string, v Vars) string {
	var b strings.Builder
	b.Grow(len(format) + 64)
	for i := 0; i < len(format); {
		c := format[i]
		if c == '%' && i+4 <= len(format) {
			if s, ok := v.render(format[i+1 : i+4]); ok {
				b.WriteString(s)
				i += 4
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}
