package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/dnsserver"
	"github.com/failoverd/failoverd/sites"
)

// checkDNSSEC reports, for every signed zone, a key_file that cannot be
// used and data that cannot be signed; it records the keys read in pl.
func checkDNSSEC(cfg *config.Config, pl *plan) config.Diagnostics {
	var diags config.Diagnostics
	for _, z := range cfg.Zones {
		d := z.DNSSEC
		if d == nil {
			continue
		}
		for _, zd := range pl.zones {
			if zd.Origin() != z.Name {
				continue
			}
			if err := dnsserver.CheckSignable(zd); err != nil {
				diags = append(diags, config.Error(d.DefRange, "Zone cannot be signed", fmt.Sprintf("Zone %s: %v.", z.Name, err)))
			}
		}
		for _, af := range cfg.ActiveFailovers {
			if af.FQDN == z.Name && (af.FailoverMode == "cname" || af.AddressIsName()) {
				diags = append(diags, config.Error(af.DefRange, "Zone cannot be signed", fmt.Sprintf("%s is the apex of the signed zone %s and may answer a CNAME, which cannot stand beside the apex's SOA, NS and DNSKEY. Serve the service on a name below the apex.", af.FQDN, z.Name)))
			}
		}
		if d.KeyFile == "" {
			continue
		}
		key, err := dnsserver.ReadKey(z.Name, d.KeyFile)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
			diags = append(diags, config.Error(d.KeyFileRange, "Unreadable key_file", fmt.Sprintf("Zone %s: %s. The .key file and the .private file beside it must be readable by failoverd.", z.Name, secretError(err))))
		case err != nil:
			diags = append(diags, config.Error(d.KeyFileRange, "Unusable key_file", fmt.Sprintf("Zone %s: %v. Give a key dnssec-keygen made for this zone (ECDSAP256SHA256 or ED25519), with its own .private file.", z.Name, err)))
		case d.AlgorithmSet && key.Algorithm() != d.Algorithm:
			diags = append(diags, config.Error(d.AlgorithmRange, "Key algorithm mismatch", fmt.Sprintf("Zone %s: key_file holds a %s key, but algorithm is %s. Remove algorithm, or give a %s key.", z.Name, key.Algorithm(), d.Algorithm, d.Algorithm)))
		default:
			pl.keys[z.Name] = key
		}
	}
	return diags
}

// keyStore keeps the generated keys of signed zones: files in the state
// directory (stateDirKeys), shared through etcd in a multi-site deployment
// (sharedKeys).
type keyStore interface {
	// Key returns zone's key of the algorithm, making and saving one when
	// there is none (created reports that).
	Key(zone, algorithm string) (key *dnsserver.Key, created bool, err error)
}

// stateDirKeys keeps keys in <state_dir>/dnssec, in BIND's file format.
type stateDirKeys struct{ dir string }

// Key implements keyStore.
func (s stateDirKeys) Key(zone, algorithm string) (*dnsserver.Key, bool, error) {
	k, err := dnsserver.FindKey(s.dir, zone, algorithm)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("DNSSEC key of %s: %w", zone, err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("DNSSEC key of %s: %w", zone, err)
	}
	k, err = dnsserver.GenerateKey(zone, algorithm)
	if err != nil {
		return nil, false, err
	}
	if _, err := k.WriteFiles(s.dir); err != nil {
		return nil, false, fmt.Errorf("DNSSEC key of %s: %w", zone, err)
	}
	return k, true, nil
}

// sharedKeys are the generated keys of a multi-site deployment: the first
// node to make a zone's key stores it in etcd and every node signs with
// that one, so answers and transfers validate whichever node gives them.
// A copy stays in the state directory, so a node that starts while etcd is
// unreachable signs with the key it had.
type sharedKeys struct {
	local stateDirKeys
	sites *sites.Sites
	log   *zap.Logger
}

// Key implements keyStore.
func (k sharedKeys) Key(zone, algorithm string) (*dnsserver.Key, bool, error) {
	mine, created, err := k.local.Key(zone, algorithm)
	if err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	text := mine.MarshalText()
	stored, err := k.sites.Claim(ctx, "dnssec/"+zone+"/"+algorithm, text)
	if err != nil {
		// Without etcd the local key signs; the log says so, because
		// another node may sign with a different one until etcd is back.
		k.log.Warn("DNSSEC key: etcd unreachable, signing with this node's key", zap.String("zone", zone), zap.Error(err))
		return mine, created, nil
	}
	if bytes.Equal(stored, text) {
		return mine, created, nil
	}
	theirs, err := dnsserver.ParseKey(zone, stored)
	if err != nil {
		return nil, false, fmt.Errorf("DNSSEC key of %s stored in etcd: %w", zone, err)
	}
	// The deployment's key replaces the one this node made or had.
	base := filepath.Join(k.local.dir, mine.BaseName())
	for _, ext := range []string{".key", ".private"} {
		if err := os.Remove(base + ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("DNSSEC key of %s: %w", zone, err)
		}
	}
	if _, err := theirs.WriteFiles(k.local.dir); err != nil {
		return nil, false, fmt.Errorf("DNSSEC key of %s: %w", zone, err)
	}
	return theirs, false, nil
}

func newStateDirKeys(stateDir string) stateDirKeys {
	return stateDirKeys{dir: filepath.Join(stateDir, "dnssec")}
}

// loadKeys gives every signed zone of p without a key_file its key from
// ks, logging the DS of each key it creates (the private key never).
func loadKeys(cfg *config.Config, p *plan, ks keyStore, log *zap.Logger) error {
	for _, z := range cfg.Zones {
		if z.DNSSEC == nil || z.DNSSEC.KeyFile != "" {
			continue
		}
		k, created, err := ks.Key(z.Name, z.DNSSEC.Algorithm)
		if err != nil {
			return err
		}
		if created {
			log.Info("DNSSEC key created: hand its DS to the parent zone",
				zap.String("zone", z.Name), zap.String("algorithm", k.Algorithm()),
				zap.Uint16("key_tag", k.Tag()), zap.String("ds", k.DS().String()))
		}
		p.keys[z.Name] = k
	}
	return nil
}

// signerFor is the signer of zone z of plan p: old when it signs with the
// same key and settings (its signatures stay valid), a new one otherwise;
// nil for an unsigned zone.
func signerFor(p *plan, origin string, old *dnsserver.Signer, now time.Time) *dnsserver.Signer {
	var zc *config.Zone
	for _, z := range p.cfg.Zones {
		if z.Name == origin {
			zc = z
		}
	}
	key := p.keys[origin]
	if zc == nil || zc.DNSSEC == nil || key == nil {
		return nil
	}
	if old != nil && old.Same(key, zc.DNSSEC.SignatureLifetime, zc.DNSSEC.InceptionOffset) {
		return old
	}
	return dnsserver.NewSigner(key, zc.DNSSEC.SignatureLifetime, zc.DNSSEC.InceptionOffset, now)
}

// signerFingerprint changes when the zone's key or signatures do, so that
// the SOA serial moves with them.
func signerFingerprint(s *dnsserver.Signer) uint64 {
	if s == nil {
		return 0
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d %s %d", s.Key().DNSKEY.Algorithm, s.Key().DNSKEY.PublicKey, s.Epoch())
	return h.Sum64()
}

// refreshSignatures starts a new signing epoch in every signed zone whose
// signatures have a third of their lifetime left, and reports whether one
// did: the caller then publishes, which moves those zones' serials.
func (pb *publisher) refreshSignatures(now time.Time) bool {
	refreshed := false
	for _, origin := range pb.zoneOrder {
		z := pb.zones[origin]
		if z.signer == nil || now.Before(z.signer.RefreshAt()) {
			continue
		}
		z.signer.Refresh(now)
		z.static = z.base ^ signerFingerprint(z.signer)
		pb.log.Info("DNSSEC signatures refreshed", zap.String("zone", origin), zap.Time("next_refresh", z.signer.RefreshAt()))
		refreshed = true
	}
	return refreshed
}
