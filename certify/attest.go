package certify

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	attestation "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// Statement is the certificate as an in-toto Statement (v1): its subject
// the runtime's binary or image, its predicate the certificate, so that
// Sigstore tooling (`cosign attest --predicate certificate.json --type
// https://github.com/wasicert/wasicert/certify/v1`) can sign and store it
// beside a runtime's release.
func Statement(c Certificate) ([]byte, error) {
	pred, err := predicate(c)
	if err != nil {
		return nil, err
	}
	st := &attestation.Statement{
		Type:          attestation.StatementTypeUri,
		Subject:       []*attestation.ResourceDescriptor{{Name: c.Subject.Name, Digest: c.Subject.Digest}},
		PredicateType: PredicateType,
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("in-toto statement: %w", err)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(st)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func predicate(c Certificate) (*structpb.Struct, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return structpb.NewStruct(m)
}

// checkStatement checks that a statement is a valid in-toto Statement
// whose subject and predicate are the certificate's.
func checkStatement(raw []byte, c Certificate) error {
	var st attestation.Statement
	if err := protojson.Unmarshal(raw, &st); err != nil {
		return err
	}
	if err := st.Validate(); err != nil {
		return err
	}
	if st.GetPredicateType() != PredicateType {
		return fmt.Errorf("predicate type %q, want %q", st.GetPredicateType(), PredicateType)
	}
	if len(st.GetSubject()) != 1 || st.GetSubject()[0].GetName() != c.Subject.Name || st.GetSubject()[0].GetDigest()["sha256"] != c.Subject.Digest["sha256"] {
		return errors.New("its subject is not the certificate's")
	}
	want, err := predicate(c)
	if err != nil {
		return err
	}
	a, _ := protojson.Marshal(want)
	b, _ := protojson.Marshal(st.GetPredicate())
	var x, y any
	_ = json.Unmarshal(a, &x)
	_ = json.Unmarshal(b, &y)
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	if string(ja) != string(jb) {
		return errors.New("its predicate is not the certificate")
	}
	return nil
}

// ed25519Key signs and verifies DSSE envelopes with the standard library.
type ed25519Key struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

func (k ed25519Key) Sign(_ context.Context, data []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, data), nil
}

func (k ed25519Key) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(k.pub, data, sig) {
		return errors.New("ed25519: invalid signature")
	}
	return nil
}

func (k ed25519Key) KeyID() (string, error) { return dsse.SHA256KeyID(k.pub) }

func (k ed25519Key) Public() crypto.PublicKey { return k.pub }

// Sign wraps a statement in a DSSE envelope signed with key.
func Sign(statement []byte, key ed25519.PrivateKey) ([]byte, error) {
	s, err := dsse.NewEnvelopeSigner(ed25519Key{priv: key, pub: key.Public().(ed25519.PublicKey)})
	if err != nil {
		return nil, err
	}
	env, err := s.SignPayload(context.Background(), PayloadType, statement)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(env, "", "  ")
	return append(b, '\n'), err
}

// VerifySignature checks that the envelope is statement signed by pub.
func VerifySignature(envelope, statement []byte, pub ed25519.PublicKey) error {
	var env dsse.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return fmt.Errorf("%s: %v", FileEnvelope, err)
	}
	v, err := dsse.NewEnvelopeVerifier(ed25519Key{pub: pub})
	if err != nil {
		return err
	}
	if _, err := v.Verify(context.Background(), &env); err != nil {
		return fmt.Errorf("%s: the signature is not made with the key given (%v)", FileEnvelope, err)
	}
	payload, err := env.DecodeB64Payload()
	if err != nil || env.PayloadType != PayloadType || string(payload) != string(statement) {
		return fmt.Errorf("%s: the signed payload is not %s", FileEnvelope, FileStatement)
	}
	return nil
}

// LoadPrivateKey reads an ed25519 private key in PEM (PKCS #8, "PRIVATE
// KEY", as `openssl genpkey -algorithm ed25519` writes it).
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := pemBlock(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T key, not ed25519: make one with openssl genpkey -algorithm ed25519", path, k)
	}
	return ek, nil
}

// LoadPublicKey reads an ed25519 public key in PEM (PKIX, "PUBLIC KEY",
// as `openssl pkey -pubout` writes it).
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := pemBlock(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T key, not ed25519", path, k)
	}
	return ek, nil
}

func pemBlock(path, typ string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(raw)
	if b == nil || b.Type != typ {
		return nil, fmt.Errorf("%s is not a PEM %q block", path, typ)
	}
	return b.Bytes, nil
}

// MarshalPrivateKey and MarshalPublicKey write keys in the PEM forms the
// loaders read (for tests and `wasicert keygen`-like set-ups).
func MarshalPrivateKey(k ed25519.PrivateKey) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// MarshalPublicKey: see MarshalPrivateKey.
func MarshalPublicKey(k ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
