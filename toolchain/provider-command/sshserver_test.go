package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
)

// testSSHServer is a small SSH server for tests, listening on 127.0.0.1. It
// runs "exec" requests with /bin/sh -c on this machine, pipes stdin, streams
// stdout/stderr and returns the exit status, like sshd does. acceptEnv
// mimics AcceptEnv: when false, every "env" request is refused, which makes
// the provider fall back to its stdin preamble. It also forwards
// "direct-tcpip" channels to loopback addresses, so it can act as a proxy.
type testSSHServer struct {
	addr       string
	port       int
	hostSigner ssh.Signer
	clientKey  string // PEM of the authorized client key
	password   string
	acceptEnv  bool

	mu       sync.Mutex
	execs    []string // commands received, to check what the process list would show
	auths    int      // successful authentications
	listener net.Listener
}

func newKeyPair(t *testing.T) (ed25519.PrivateKey, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, signer
}

func pemOf(t *testing.T, priv ed25519.PrivateKey, passphrase string) string {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test client")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test client", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

func startTestSSHServer(t *testing.T, acceptEnv bool) *testSSHServer {
	t.Helper()
	_, hostSigner := newKeyPair(t)
	clientPriv, clientSigner := newKeyPair(t)
	s := &testSSHServer{
		hostSigner: hostSigner,
		clientKey:  pemOf(t, clientPriv, ""),
		password:   "correct horse battery staple",
		acceptEnv:  acceptEnv,
	}
	authorized := string(clientSigner.PublicKey().Marshal())
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == authorized {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
		PasswordCallback: func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) == s.password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
	}
	cfg.AddHostKey(hostSigner)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.listener = ln
	s.addr = ln.Addr().String()
	s.port = ln.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serveConn(conn, cfg)
		}
	}()
	return s
}

// authorizedKeyLine is the server's host key as in ssh_host_*_key.pub.
func (s *testSSHServer) authorizedKeyLine() string {
	return string(ssh.MarshalAuthorizedKey(s.hostSigner.PublicKey()))
}

func (s *testSSHServer) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.execs...)
}

func (s *testSSHServer) authCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

func (s *testSSHServer) serveConn(conn net.Conn, cfg *ssh.ServerConfig) {
	sconn, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		conn.Close()
		return
	}
	s.mu.Lock()
	s.auths++
	s.mu.Unlock()
	defer sconn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			ch, chReqs, err := nc.Accept()
			if err != nil {
				continue
			}
			go s.serveSession(ch, chReqs)
		case "direct-tcpip":
			go s.forward(nc)
		default:
			nc.Reject(ssh.UnknownChannelType, "unsupported")
		}
	}
}

// forward implements a proxy hop (ssh -J), restricted to loopback.
func (s *testSSHServer) forward(nc ssh.NewChannel) {
	var target struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &target); err != nil {
		nc.Reject(ssh.ConnectionFailed, "bad request")
		return
	}
	if ip := net.ParseIP(target.Host); ip == nil || !ip.IsLoopback() {
		nc.Reject(ssh.Prohibited, "loopback only")
		return
	}
	up, err := net.Dial("tcp", net.JoinHostPort(target.Host, strconv.Itoa(int(target.Port))))
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		up.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	go func() { io.Copy(up, ch); up.(*net.TCPConn).CloseWrite() }()
	io.Copy(ch, up)
	ch.Close()
	up.Close()
}

func (s *testSSHServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	var cmd *exec.Cmd
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if err := ssh.Unmarshal(req.Payload, &kv); err != nil || !s.acceptEnv {
				req.Reply(false, nil)
				continue
			}
			env = append(env, kv.Name+"="+kv.Value)
			req.Reply(true, nil)
		case "signal":
			if cmd != nil && cmd.Process != nil {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				req.Reply(false, nil)
				continue
			}
			s.mu.Lock()
			s.execs = append(s.execs, payload.Command)
			s.mu.Unlock()
			req.Reply(true, nil)
			cmd = exec.Command("/bin/sh", "-c", payload.Command)
			cmd.Env = env
			cmd.Stdout = ch
			cmd.Stderr = ch.Stderr()
			stdin, _ := cmd.StdinPipe()
			go func() { io.Copy(stdin, ch); stdin.Close() }()
			go func(cmd *exec.Cmd) {
				status := 0
				if err := cmd.Run(); err != nil {
					var exit *exec.ExitError
					if errors.As(err, &exit) {
						status = exit.ExitCode()
						if status < 0 {
							status = 137 // killed by a signal, as a shell reports it
						}
					} else {
						status = 127
					}
				}
				msg := make([]byte, 4)
				binary.BigEndian.PutUint32(msg, uint32(status))
				ch.SendRequest("exit-status", false, msg)
				ch.Close()
			}(cmd)
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}
