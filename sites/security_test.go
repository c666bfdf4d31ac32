package sites

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestOpen_Credentials(t *testing.T) {
	c := startEtcd(t, 1)
	eps := c.endpoints()
	cli := c.client(eps...)
	ctx := context.Background()
	const prefix = "/failoverd/"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cli.UserAdd(ctx, "root", "root-secret"))
	must(cli.UserGrantRole(ctx, "root", "root"))
	must(cli.RoleAdd(ctx, "failoverd"))
	must(cli.RoleGrantPermission(ctx, "failoverd", prefix, clientv3.GetPrefixRangeEnd(prefix), clientv3.PermissionType(clientv3.PermReadWrite)))
	must(cli.UserAdd(ctx, "ams", "ams-secret"))
	must(cli.UserGrantRole(ctx, "ams", "failoverd"))
	must(cli.AuthEnable(ctx))

	creds := func(user, pw string) nodeOpt {
		return func(o *Options) { o.Username, o.Password = user, pw }
	}
	t.Run("wrong password is refused at start", func(t *testing.T) {
		_, err := tryOpenNode(t, eps, prefix, "ams", creds("ams", "wrong"))
		if !errors.Is(err, rpctypes.ErrAuthFailed) {
			t.Fatalf("err = %v, want authentication failed", err)
		}
	})
	t.Run("a prefix the user may not touch is refused at start", func(t *testing.T) {
		_, err := tryOpenNode(t, eps, "/elsewhere/", "ams", creds("ams", "ams-secret"))
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("err = %v, want permission denied", err)
		}
	})
	t.Run("the right credentials join", func(t *testing.T) {
		n := openNode(t, eps, prefix, "ams", creds("ams", "ams-secret"))
		leaderOf(t, 10*time.Second, n)
		if _, err := n.s.Commit(ctx, Batch{State: map[string][]byte{"svc": []byte("x")}}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpen_TLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t, dir, "ca")
	newCA(t, dir, "other-ca")
	serverCert, serverKey := newLeaf(t, dir, "server", ca, caKey, true)
	clientCert, clientKey := newLeaf(t, dir, "client", ca, caKey, false)

	m := testutil.StartEtcdTLS(t, "--cert-file", serverCert, "--key-file", serverKey,
		"--client-cert-auth", "--trusted-ca-file", filepath.Join(dir, "ca.pem"))
	tlsOpts := func(caFile string) nodeOpt {
		return func(o *Options) { o.CAFile, o.CertFile, o.KeyFile = caFile, clientCert, clientKey }
	}
	tlsCfg, err := Options{Endpoints: []string{m.Endpoint}, CAFile: filepath.Join(dir, "ca.pem"), CertFile: clientCert, KeyFile: clientKey}.tlsConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := clientv3.New(clientv3.Config{Endpoints: []string{m.Endpoint}, TLS: tlsCfg, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	eventually(t, 20*time.Second, "the TLS etcd answers", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := raw.Get(ctx, "/probe")
		return err == nil
	})
	t.Run("the right CA and client certificate join", func(t *testing.T) {
		n := openNode(t, []string{m.Endpoint}, "/failoverd/", "ams", tlsOpts(filepath.Join(dir, "ca.pem")))
		leaderOf(t, 10*time.Second, n)
	})
	t.Run("a server certificate from another CA is refused at start", func(t *testing.T) {
		_, err := tryOpenNode(t, []string{m.Endpoint}, "/failoverd/", "fra", tlsOpts(filepath.Join(dir, "other-ca.pem")))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v, want a certificate error", err)
		}
	})
}

func newCA(t *testing.T, dir, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// newLeaf issues a certificate for 127.0.0.1 (server) or a client, and
// returns the paths of the certificate and key files.
func newLeaf(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, server bool) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	if server {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "EC PRIVATE KEY", kb)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
