package pool

import "sort"

// siteCodes are the sites an sf_pool monitor counts over: Spec.Sites plus
// any site that has reported a round.
func (s *service) siteCodes() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range s.sites {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	var extra []string
	for c := range s.siteRes {
		if !seen[c] {
			seen[c] = true
			extra = append(extra, c)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// monitorFails applies region_failure_sensitivity to the latest result of
// every site (docs/behaviour.md section 5): LOW fails when every site reports
// down, HIGH when at least two do (or the only one). A site without a
// result yet counts as OK.
func (s *service) monitorFails() bool {
	sites := s.siteCodes()
	if len(sites) == 0 {
		return false
	}
	down := 0
	for _, c := range sites {
		if a := s.siteRes[c]; a != nil && a.status == StatusDown {
			down++
		}
	}
	if s.cfg.Sensitivity == SensitivityHigh {
		if len(sites) == 1 {
			return down == 1
		}
		return down >= 2
	}
	return down == len(sites)
}

// evalSF returns the sf_pool status: MANUAL when forced inactive, CRITICAL
// while the monitor fails, OK otherwise (also before the first round and
// while the service is inactive).
func (s *service) evalSF() Status {
	switch {
	case s.live == LiveForcedInactive:
		return SFStatusManual
	case s.active && s.monitorFails():
		return SFStatusCritical
	default:
		return SFStatusOK
	}
}

// sfRecords is the served record: the backup while MANUAL or CRITICAL when
// there is one, the live record otherwise (a Simple Monitor always serves
// the live record).
func (s *service) sfRecords() []Record {
	data := s.cfg.LiveRData
	if s.sfStatus != SFStatusOK && s.cfg.BackupRData != "" {
		data = s.cfg.BackupRData
	}
	if data == "" {
		return nil
	}
	r := addrRecord(data, 1)
	if s.cfg.RRType == "A" || s.cfg.RRType == "AAAA" {
		r.Type = s.cfg.RRType
	}
	return []Record{r}
}
