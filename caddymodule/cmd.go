package caddymodule

// The `caddy llmgate` subcommands: keys, projects, credits, usage, the
// request log and provider health, talking to llmgate's routes on Caddy's
// admin endpoint (admin.api.llmgate, default localhost:2019) the way
// `caddy reload` does. Output is an aligned table by default and the raw
// JSON response with --json. Table formatting lives in cmd_table.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "llmgate",
		Usage: "<keys|projects|usage|requests|providers> [--address <admin>] [--json]",
		Short: "Manages llmgate keys, projects, credits and usage through Caddy's admin API",
		Long: `
Manages a running llmgate through its routes on Caddy's admin endpoint
(/llmgate/... on the admin listener, default localhost:2019).

The admin endpoint is, in order: --address; the admin listener of the config
given with --config (as 'caddy reload' finds it); the CADDY_ADMIN environment
variable; localhost:2019. --address takes host:port, a full http(s) URL, or
a unix socket as unix//path/to/admin.sock.

Tables are printed by default; --json prints the admin API's JSON response
as is. Errors from the admin API are printed to stderr and exit with status 1.

  caddy llmgate keys create --name ci --project acme --rpm 60 --budget 50usd/month
  caddy llmgate keys list --project acme
  caddy llmgate keys rotate <id> --grace 24h
  caddy llmgate projects credit acme --usd 10 --note "invoice 42"
  caddy llmgate usage --since 24h --by model,provider
  caddy llmgate requests --since 1h --status error
  caddy llmgate providers
`,
		CobraFunc: cliSetup,
	})
}

// cliSetup builds the llmgate command tree under cmd (Caddy's cobra
// command for "llmgate").
func cliSetup(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("address", "", "Admin endpoint: host:port, http(s)://URL or unix//path (default: $CADDY_ADMIN, else localhost:2019)")
	pf.StringP("config", "c", "", "Config file to read the admin listener from, if --address is not used")
	pf.StringP("adapter", "a", "", "Config adapter for --config")
	pf.Bool("json", false, "Print the raw JSON response")
	cliGroup(cmd)
	cmd.AddCommand(cliKeysCmd(), cliProjectsCmd(), cliUsageCmd(), cliRequestsCmd(), cliProvidersCmd())
}

// cliGroup makes a command that only holds subcommands print its help when
// run bare and refuse unknown subcommands.
func cliGroup(cmd *cobra.Command) {
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
}

// ---- commands ------------------------------------------------------------

func cliResolveAddress(flagAddr, configFile, adapter string) (string, error) {
	if a := strings.TrimSpace(flagAddr); a != "" {
		return a, nil
	}
	if configFile != "" {
		cfg, _, _, err := caddycmd.LoadConfig(configFile, adapter)
		if err != nil {
			return "", fmt.Errorf("reading the admin address from %s: %v", configFile, err)
		}
		var c struct {
			Admin struct {
				Listen string `json:"listen"`
			} `json:"admin"`
		}
		if len(cfg) > 0 {
			if err := json.Unmarshal(cfg, &c); err != nil {
				return "", fmt.Errorf("reading the admin address from %s: %v", configFile, err)
			}
		}
		if c.Admin.Listen != "" {
			return c.Admin.Listen, nil
		}
	}
	if a := strings.TrimSpace(os.Getenv("CADDY_ADMIN")); a != "" {
		return a, nil
	}
	return "localhost:2019", nil
}

// cliClient talks to the admin endpoint.
type cliClient struct {
	addr string // as given, for messages
	base string // scheme://host[/prefix], without a trailing slash
	hc   *http.Client
}

const cliTimeout = 60 * time.Second

// cliNewClient accepts host:port (port 2019 if left out), a full http or
// https URL (a path becomes a prefix), or a Caddy network address such as
// unix//run/caddy/admin.sock.
func cliNewClient(addr string) (*cliClient, error) {
	addr = strings.TrimSpace(addr)
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("invalid admin address %q: want host:port, http(s)://host:port or unix//path", addr)
		}
		return &cliClient{addr: addr, base: u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/"),
			hc: &http.Client{Timeout: cliTimeout, Transport: &http.Transport{}}}, nil
	}
	na, err := caddy.ParseNetworkAddressWithDefaults(addr, "tcp", 2019)
	if err != nil || na.PortRangeSize() > 1 {
		if err == nil {
			err = errors.New("a port range is not an address")
		}
		return nil, fmt.Errorf("invalid admin address %q: %v", addr, err)
	}
	var d net.Dialer
	switch {
	case na.IsUnixNetwork():
		path := na.Host
		if i := strings.LastIndex(path, "|"); i >= 0 { // socket permission bits
			path = path[:i]
		}
		if path == "" {
			return nil, fmt.Errorf("invalid admin address %q: no socket path", addr)
		}
		network := na.Network
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, path)
		}}
		// Caddy accepts only a loopback Host on a unix socket.
		return &cliClient{addr: addr, base: "http://127.0.0.1", hc: &http.Client{Timeout: cliTimeout, Transport: tr}}, nil
	case na.IsFdNetwork():
		return nil, fmt.Errorf("invalid admin address %q: file descriptor listeners cannot be dialled", addr)
	}
	host := na.Host
	if host == "" {
		host = "localhost"
	}
	hostport := net.JoinHostPort(host, strconv.FormatUint(uint64(na.StartPort), 10))
	network := na.Network
	tr := &http.Transport{DialContext: func(ctx context.Context, _, a string) (net.Conn, error) {
		return d.DialContext(ctx, network, a)
	}}
	return &cliClient{addr: addr, base: "http://" + hostport, hc: &http.Client{Timeout: cliTimeout, Transport: tr}}, nil
}

// do sends one request and answers the body of a 2xx response; any other
// status is a *cliAPIError carrying the admin API's message.
func (c *cliClient) do(ctx context.Context, method, path string, q url.Values, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Caddy's admin endpoint at %s: %v (is Caddy running? set --address or CADDY_ADMIN)", c.addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, cliParseError(resp.StatusCode, data)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the admin API's response: %v", err)
	}
	return data, nil
}

// cliAPIError is a non-2xx answer of the admin API.
type cliAPIError struct {
	Status  int
	Message string
	Field   string
}

func (e *cliAPIError) Error() string {
	msg := e.Message
	if e.Field != "" && !strings.HasPrefix(msg, e.Field+":") {
		msg += " (field: " + e.Field + ")"
	}
	return fmt.Sprintf("admin API: HTTP %d: %s", e.Status, msg)
}

// cliParseError reads {"error":"…"} (Caddy's admin errors) and
// {"error":{"message","field"}} (llmgate's validation errors).
func cliParseError(status int, data []byte) *cliAPIError {
	e := &cliAPIError{Status: status}
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil && len(env.Error) > 0 {
		var s string
		var o struct {
			Message string `json:"message"`
			Field   string `json:"field"`
			Param   string `json:"param"`
		}
		switch {
		case json.Unmarshal(env.Error, &s) == nil:
			e.Message = s
		case json.Unmarshal(env.Error, &o) == nil:
			e.Message, e.Field = o.Message, cliOr(o.Field, o.Param)
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(data))
		if len(e.Message) > 500 {
			e.Message = e.Message[:500] + "…"
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// cliRun resolves the endpoint, sends the request and prints the answer:
// the raw JSON with --json, else through print. A response that print
// cannot read is shown as JSON rather than lost.
func cliRun(c *cobra.Command, method, path string, q url.Values, body any, print func(io.Writer, []byte) error) error {
	fs := c.Flags()
	flagAddr, _ := fs.GetString("address")
	configFile, _ := fs.GetString("config")
	adapter, _ := fs.GetString("adapter")
	addr, err := cliResolveAddress(flagAddr, configFile, adapter)
	if err != nil {
		return err
	}
	client, err := cliNewClient(addr)
	if err != nil {
		return err
	}
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := client.do(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	if asJSON, _ := fs.GetBool("json"); asJSON {
		_, err := out.Write(data)
		if err == nil && (len(data) == 0 || data[len(data)-1] != '\n') {
			_, err = io.WriteString(out, "\n")
		}
		return err
	}
	var buf bytes.Buffer
	if perr := print(&buf, data); perr != nil {
		fmt.Fprintf(c.ErrOrStderr(), "warning: unexpected response shape (%v); showing the JSON\n", perr)
		buf.Reset()
		if json.Indent(&buf, data, "", "  ") != nil {
			buf.Reset()
			buf.Write(data)
		}
		buf.WriteString("\n")
	}
	_, err = out.Write(buf.Bytes())
	return err
}
