package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

const (
	goodName   = "projects/demo/secrets/hubspot-token/versions/latest"
	secretText = "pat-na1-5ecret-VALUE-do-not-print"
)

// fakeSM is a minimal Secret Manager: versions maps a name to its payload, errs a name to a
// gRPC error. There is no Secret Manager emulator, so the tests talk real gRPC to this.
type fakeSM struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	versions map[string]string
	errs     map[string]error
	badCRC   map[string]bool
	delay    time.Duration
	calls    atomic.Int64
}

func (f *fakeSM) AccessSecretVersion(ctx context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if err, ok := f.errs[req.GetName()]; ok {
		return nil, err
	}
	v, ok := f.versions[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", req.GetName())
	}
	crc := int64(crc32.Checksum([]byte(v), crc32.MakeTable(crc32.Castagnoli)))
	if f.badCRC[req.GetName()] {
		crc++
	}
	return &secretmanagerpb.AccessSecretVersionResponse{
		Name:    req.GetName(),
		Payload: &secretmanagerpb.SecretPayload{Data: []byte(v), DataCrc32C: &crc},
	}, nil
}

// startFake serves f on 127.0.0.1 and returns a Resolver pointed at it.
func startFake(t *testing.T, f *fakeSM) *Resolver {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	secretmanagerpb.RegisterSecretManagerServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	r := NewResolver(
		option.WithEndpoint(lis.Addr().String()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	)
	t.Cleanup(func() { r.Close() })
	return r
}

func TestAccessReadsOnce(t *testing.T) {
	f := &fakeSM{versions: map[string]string{goodName: secretText + "\n"}, delay: 20 * time.Millisecond}
	r := startFake(t, f)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			v, err := r.Resolve(t.Context(), "", goodName)
			if err != nil {
				errs <- err
				return
			}
			if v != secretText {
				errs <- fmt.Errorf("value of %d bytes is not the trimmed payload", len(v))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for range 10 {
		if _, err := r.Access(t.Context(), goodName); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("AccessSecretVersion called %d times, want 1", n)
	}
}

func TestAccessErrors(t *testing.T) {
	const (
		missing   = "projects/demo/secrets/missing/versions/1"
		forbidden = "projects/demo/secrets/forbidden/versions/2"
		disabled  = "projects/demo/secrets/disabled/versions/3"
		corrupt   = "projects/demo/secrets/corrupt/versions/4"
		empty     = "projects/demo/secrets/empty/versions/5"
	)
	f := &fakeSM{
		versions: map[string]string{corrupt: secretText, empty: " \n"},
		errs: map[string]error{
			forbidden: status.Error(codes.PermissionDenied, "Permission 'secretmanager.versions.access' denied"),
			disabled:  status.Error(codes.FailedPrecondition, "Secret Version is in DISABLED state."),
		},
		badCRC: map[string]bool{corrupt: true},
	}
	r := startFake(t, f)
	tests := []struct {
		name string
		code codes.Code
		want []string
	}{
		{missing, codes.NotFound, []string{"secretmanager.AccessSecretVersion " + missing, "does not exist (NotFound)"}},
		{forbidden, codes.PermissionDenied, []string{"permission denied", "roles/secretmanager.secretAccessor", forbidden}},
		{disabled, codes.FailedPrecondition, []string{"disabled or destroyed", disabled}},
		{corrupt, codes.OK, []string{"checksum mismatch", corrupt}},
		{empty, codes.OK, []string{"is empty", empty}},
		{"pat-na1-5ecret-VALUE", codes.OK, []string{"secrets: not a Secret Manager version name", "value not shown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Access(t.Context(), tt.name)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secretText) || strings.Contains(err.Error(), "5ecret") {
				t.Errorf("error shows the secret: %v", err)
			}
			if tt.code != codes.OK && status.Code(errors.Unwrap(err)) != tt.code {
				t.Errorf("status code = %v, want %v", status.Code(errors.Unwrap(err)), tt.code)
			}
		})
	}
	// Failures are not cached: a fixed secret is read on the next call.
	f.versions[missing] = "now-there"
	if v, err := r.Access(t.Context(), missing); err != nil || v != "now-there" {
		t.Errorf("after the fix: %q, %v", v, err)
	}
}

func TestAccessContextCancelled(t *testing.T) {
	f := &fakeSM{versions: map[string]string{goodName: secretText}, delay: 5 * time.Second}
	r := startFake(t, f)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Access(ctx, goodName)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Error("Access outlived its context")
	}
	// A caller waiting behind a slow read gives up with its own context too.
	slow, cancelSlow := context.WithCancel(t.Context())
	defer cancelSlow()
	calls := f.calls.Load()
	go r.Access(slow, goodName)
	for deadline := time.Now().Add(5 * time.Second); f.calls.Load() == calls; { // the slow read holds the slot
		if time.Now().After(deadline) {
			t.Fatal("the slow read never reached the server")
		}
		runtime.Gosched()
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	start = time.Now()
	if _, err := r.Access(ctx2, goodName); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting caller: err = %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Error("a waiting caller outlived its context")
	}
}

func TestResolve(t *testing.T) {
	var r Resolver // the zero value works, and a plain value needs no client
	tests := []struct {
		value   Secret
		name    string
		want    string
		wantErr error
	}{
		{"tok", "", "tok", nil},
		{"", "", "", ErrUnset},
		{"tok", goodName, "", ErrBoth},
	}
	for _, tt := range tests {
		got, err := r.Resolve(t.Context(), tt.value, tt.name)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q, %v", string(tt.value), tt.name, got, err, tt.want, tt.wantErr)
		}
	}
	if r.client != nil {
		t.Error("a client was created without a version name")
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close without a client: %v", err)
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"projects/demo/secrets/hubspot-token/versions/latest", true},
		{"projects/123456789012/secrets/HUBSPOT_TOKEN/versions/7", true},
		{"projects/example.com:proj/secrets/s/versions/1", true},
		{"projects/demo/secrets/s/versions/0", false},
		{"projects/demo/secrets/s/versions/", false},
		{"projects/demo/secrets/s", false},
		{"projects/demo/secrets/bad name/versions/1", false},
		{"projects/demo/locations/us/secrets/s/versions/1", false},
		{"projects//secrets/s/versions/1", false},
		{" projects/demo/secrets/s/versions/1", false},
		{"hubspot-token", false},
		{"", false},
	}
	for _, tt := range tests {
		err := ValidName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestSecretNeverPrintsValue(t *testing.T) {
	type holder struct {
		Token Secret
		Other string
	}
	s := Secret(secretText)
	h := holder{Token: s, Other: "x"}
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf strings.Builder
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "token", s, "holder", h)
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %X %d %10s", s, s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", h, h, h), fmt.Sprintf("%v", &h), fmt.Sprintln(s, h), string(js), logBuf.String(),
	}
	for _, out := range outs {
		if strings.Contains(out, secretText) {
			t.Errorf("the value leaks: %s", out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("no %s in %s", Redacted, out)
		}
	}
	if got := fmt.Sprint(Secret("")); got != "" {
		t.Errorf("empty Secret prints %q", got)
	}
	if string(s) != secretText {
		t.Error("string(s) is not the value")
	}
}
