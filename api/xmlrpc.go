package api

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A small XML-RPC codec (xmlrpc.com/spec) for the Memset surface: a call
// is a method name and parameters; values decode to string, int, bool,
// float64, map[string]any, []any or nil.

// xnode is any XML element, for walking a call.
type xnode struct {
	XMLName xml.Name
	Content string  `xml:",chardata"`
	Nodes   []xnode `xml:",any"`
}

// maxXMLDepth bounds nesting so that a hostile call cannot exhaust the
// stack while it is decoded.
const maxXMLDepth = 32

// parseXMLRPCCall reads a methodCall.
func parseXMLRPCCall(body []byte) (string, []any, error) {
	if depth := xmlDepth(body); depth > maxXMLDepth {
		return "", nil, fmt.Errorf("the call nests %d elements deep; at most %d", depth, maxXMLDepth)
	}
	var call xnode
	if err := xml.Unmarshal(body, &call); err != nil {
		return "", nil, fmt.Errorf("not an XML-RPC call: %w", err)
	}
	if call.XMLName.Local != "methodCall" {
		return "", nil, fmt.Errorf("not an XML-RPC call: <%s>", call.XMLName.Local)
	}
	var method string
	var params []any
	for _, n := range call.Nodes {
		switch n.XMLName.Local {
		case "methodName":
			method = strings.TrimSpace(n.Content)
		case "params":
			for _, p := range n.Nodes {
				if p.XMLName.Local != "param" || len(p.Nodes) != 1 {
					return "", nil, fmt.Errorf("a <param> holds one <value>")
				}
				v, err := xmlrpcValue(p.Nodes[0])
				if err != nil {
					return "", nil, err
				}
				params = append(params, v)
			}
		}
	}
	if method == "" {
		return "", nil, fmt.Errorf("the call has no <methodName>")
	}
	return method, params, nil
}

// xmlDepth is the deepest element nesting of body, counted on tokens
// before any tree is built.
func xmlDepth(body []byte) int {
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth, deepest := 0, 0
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return deepest
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			if depth > deepest {
				deepest = depth
			}
			if deepest > maxXMLDepth {
				return deepest
			}
		case xml.EndElement:
			depth--
		}
	}
}

func xmlrpcValue(v xnode) (any, error) {
	if v.XMLName.Local != "value" {
		return nil, fmt.Errorf("expected <value>, got <%s>", v.XMLName.Local)
	}
	if len(v.Nodes) == 0 {
		return v.Content, nil // an untyped value is a string
	}
	t := v.Nodes[0]
	text := strings.TrimSpace(t.Content)
	switch t.XMLName.Local {
	case "string":
		return t.Content, nil
	case "int", "i4", "i8":
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, fmt.Errorf("<%s>%s</%s> is not an integer", t.XMLName.Local, text, t.XMLName.Local)
		}
		return n, nil
	case "boolean":
		switch text {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
		return nil, fmt.Errorf("<boolean>%s</boolean> is neither 0 nor 1", text)
	case "double":
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("<double>%s</double> is not a number", text)
		}
		return f, nil
	case "dateTime.iso8601", "base64":
		return text, nil
	case "nil":
		return nil, nil
	case "struct":
		m := map[string]any{}
		for _, mem := range t.Nodes {
			var name string
			var val *xnode
			for i := range mem.Nodes {
				switch mem.Nodes[i].XMLName.Local {
				case "name":
					name = mem.Nodes[i].Content
				case "value":
					val = &mem.Nodes[i]
				}
			}
			if val == nil {
				return nil, fmt.Errorf("struct member %q has no <value>", name)
			}
			x, err := xmlrpcValue(*val)
			if err != nil {
				return nil, err
			}
			m[name] = x
		}
		return m, nil
	case "array":
		out := []any{}
		for _, data := range t.Nodes {
			for _, e := range data.Nodes {
				x, err := xmlrpcValue(e)
				if err != nil {
					return nil, err
				}
				out = append(out, x)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown XML-RPC type <%s>", t.XMLName.Local)
}

// xmlrpcResponse renders a methodResponse carrying v.
func xmlrpcResponse(v any) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header + "<methodResponse><params><param>")
	writeXMLRPCValue(&b, v)
	b.WriteString("</param></params></methodResponse>\n")
	return b.Bytes()
}

// xmlrpcFault renders a fault.
func xmlrpcFault(code int, text string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header + "<methodResponse><fault>")
	writeXMLRPCValue(&b, map[string]any{"faultCode": code, "faultString": text})
	b.WriteString("</fault></methodResponse>\n")
	return b.Bytes()
}

func writeXMLRPCValue(b *bytes.Buffer, v any) {
	b.WriteString("<value>")
	switch x := v.(type) {
	case nil:
		b.WriteString("<nil/>")
	case string:
		b.WriteString("<string>")
		_ = xml.EscapeText(b, []byte(x))
		b.WriteString("</string>")
	case bool:
		if x {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case int:
		fmt.Fprintf(b, "<int>%d</int>", x)
	case uint64:
		if x > math.MaxInt32 {
			fmt.Fprintf(b, "<string>%d</string>", x) // beyond XML-RPC's 32-bit int
		} else {
			fmt.Fprintf(b, "<int>%d</int>", x)
		}
	case float64:
		b.WriteString("<double>" + strconv.FormatFloat(x, 'f', -1, 64) + "</double>")
	case time.Time:
		b.WriteString("<dateTime.iso8601>" + x.UTC().Format("20060102T15:04:05") + "</dateTime.iso8601>")
	case []any:
		b.WriteString("<array><data>")
		for _, e := range x {
			writeXMLRPCValue(b, e)
		}
		b.WriteString("</data></array>")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<struct>")
		for _, k := range keys {
			b.WriteString("<member><name>")
			_ = xml.EscapeText(b, []byte(k))
			b.WriteString("</name>")
			writeXMLRPCValue(b, x[k])
			b.WriteString("</member>")
		}
		b.WriteString("</struct>")
	default:
		panic(fmt.Sprintf("api: no XML-RPC encoding for %T", v)) // a bug in this package
	}
	b.WriteString("</value>")
}
