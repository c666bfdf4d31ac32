package dnsserver

import (
	"fmt"
	"maps"
	"math/bits"
	"net/netip"
	"slices"
	"sort"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Region codes of the default GeoIP mapping.
const (
	RegionUSWest    = "US West"
	RegionUSCentral = "US Central"
	RegionUSEast    = "US East"
	RegionEUWest    = "EU West"
	RegionEUCentral = "EU Central"
	RegionEUEast    = "EU East"
	RegionAsia      = "Asia"
)

type regionEntry struct {
	prefix netip.Prefix
	code   string
}

// regionMapper finds a client's region: the longest region_map prefix,
// then the GeoIP database, then "global".
type regionMapper struct {
	entries []regionEntry // longest prefix first
	geo     *maxminddb.Reader
}

// CheckRegionMap reports a region map the DNS server would refuse (a prefix
// in two regions), as NewServer does.
func CheckRegionMap(m map[string][]netip.Prefix) error {
	_, err := newRegionMapper(m, nil)
	return err
}

func newRegionMapper(m map[string][]netip.Prefix, geo *maxminddb.Reader) (*regionMapper, error) {
	rm := &regionMapper{geo: geo}
	seen := map[netip.Prefix]string{}
	// Codes in order, so the error about a prefix in two regions is
	// always the same one.
	for _, code := range slices.Sorted(maps.Keys(m)) {
		for _, p := range m[code] {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked()
			if !p.IsValid() {
				return nil, fmt.Errorf("region %q: invalid prefix", code)
			}
			if other, ok := seen[p]; ok && other != code {
				return nil, fmt.Errorf("prefix %s is in regions %q and %q", p, other, code)
			}
			seen[p] = code
			rm.entries = append(rm.entries, regionEntry{prefix: p, code: code})
		}
	}
	sort.Slice(rm.entries, func(i, j int) bool {
		a, b := rm.entries[i], rm.entries[j]
		if a.prefix.Bits() != b.prefix.Bits() {
			return a.prefix.Bits() > b.prefix.Bits()
		}
		return a.prefix.Addr().Less(b.prefix.Addr())
	})
	return rm, nil
}

func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

// Rules that choose a client's region, as Explain reports them.
const (
	RuleECS       = "ecs"        // the EDNS Client Subnet address decided
	RuleRegionMap = "region_map" // a region_map prefix holds the address
	RuleGeoIP     = "geoip"      // the GeoIP database's record
	RuleGlobal    = "global"     // nothing matched
)

// regionMatch is how lookup chose a region: the rule and what matched
// (the region_map prefix, or the GeoIP network).
type regionMatch struct {
	rule    string
	network netip.Prefix
}

// lookup returns addr's region and the ECS scope prefix length for which
// that answer holds: the shortest prefix around addr that every address
// maps to the same region through the same rule.
func (rm *regionMapper) lookup(addr netip.Addr) (string, uint8) {
	code, scope, _ := rm.lookupRule(addr)
	return code, scope
}

// lookupRule is lookup that also says which rule chose the region; the
// answer path and Explain both come through it.
func (rm *regionMapper) lookupRule(addr netip.Addr) (string, uint8, regionMatch) {
	if rm == nil || !addr.IsValid() {
		return GlobalRegion, 0, regionMatch{rule: RuleGlobal}
	}
	addr = addr.Unmap()
	code, base, matched := GlobalRegion, 0, -1
	how := regionMatch{rule: RuleGlobal}
	for i, e := range rm.entries {
		if e.prefix.Contains(addr) {
			code, base, matched = e.code, e.prefix.Bits(), i
			how = regionMatch{rule: RuleRegionMap, network: e.prefix}
			break
		}
	}
	if matched < 0 && rm.geo != nil {
		res := rm.geo.Lookup(addr)
		if res.Err() == nil {
			if p := res.Prefix(); p.IsValid() {
				base = p.Bits() - unmapBits(p.Addr())
			}
			if res.Found() {
				var rec geoRecord
				if err := res.Decode(&rec); err == nil {
					code = rec.region()
					how = regionMatch{rule: RuleGeoIP, network: res.Prefix()}
				}
			}
		}
	}
	scope := base
	// A more specific entry inside the matched network maps elsewhere:
	// narrow the scope until it excludes that entry.
	for i, e := range rm.entries {
		if i == matched || e.prefix.Addr().Is4() != addr.Is4() || e.prefix.Bits() <= base {
			continue
		}
		if b := commonBits(addr, e.prefix.Addr()) + 1; b > scope {
			if b > e.prefix.Bits() {
				b = e.prefix.Bits()
			}
			if b > scope {
				scope = b
			}
		}
	}
	return code, uint8(scope), how
}

// commonBits is the length of the common prefix of two addresses of one family.
func commonBits(a, b netip.Addr) int {
	if a.Is4() {
		x, y := a.As4(), b.As4()
		return bits.LeadingZeros32(uint32(x[0])<<24 | uint32(x[1])<<16 | uint32(x[2])<<8 | uint32(x[3]) ^
			(uint32(y[0])<<24 | uint32(y[1])<<16 | uint32(y[2])<<8 | uint32(y[3])))
	}
	x, y := a.As16(), b.As16()
	n := 0
	for i := range 16 {
		if x[i] == y[i] {
			n += 8
			continue
		}
		return n + bits.LeadingZeros8(x[i]^y[i])
	}
	return n
}

// geoRecord is the part of a GeoIP2/GeoLite2 Country or City record the
// default mapping reads.
type geoRecord struct {
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Location struct {
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// GeoRegion is the documented default mapping from a GeoIP record to a
// region code:
//
//   - North America: by longitude when the database has one (City
//     databases): west of -100° "US West", -100° to -87° "US Central", east
//     of that "US East". Without a location: US and MX "US Central", CA and
//     the rest of North America (Central America, Caribbean) "US East".
//   - South America: "US East".
//   - Europe: GB IE FR ES PT BE NL LU IS MC AD GI IM JE GG FO → "EU West";
//     DE AT CH IT DK NO SE PL CZ SK HU SI HR LI MT SM VA → "EU Central";
//     every other European country (RU UA BY RO BG GR FI EE LV LT MD RS BA
//     ME MK AL XK CY ...) → "EU East".
//   - Africa: "EU Central"; Asia and Oceania: "Asia".
//   - Anything else, or no record: "global".
//
// A region the service does not define falls back to "global".
func GeoRegion(continent, country string, longitude *float64) string {
	switch continent {
	case "NA":
		if longitude != nil {
			switch {
			case *longitude < -100:
				return RegionUSWest
			case *longitude < -87:
				return RegionUSCentral
			default:
				return RegionUSEast
			}
		}
		switch country {
		case "US", "MX":
			return RegionUSCentral
		}
		return RegionUSEast
	case "SA":
		return RegionUSEast
	case "EU":
		switch country {
		case "GB", "IE", "FR", "ES", "PT", "BE", "NL", "LU", "IS", "MC", "AD", "GI", "IM", "JE", "GG", "FO":
			return RegionEUWest
		case "DE", "AT", "CH", "IT", "DK", "NO", "SE", "PL", "CZ", "SK", "HU", "SI", "HR", "LI", "MT", "SM", "VA":
			return RegionEUCentral
		}
		return RegionEUEast
	case "AF":
		return RegionEUCentral
	case "AS", "OC":
		return RegionAsia
	}
	return GlobalRegion
}

func (g *geoRecord) region() string {
	return GeoRegion(g.Continent.Code, g.Country.ISOCode, g.Location.Longitude)
}
