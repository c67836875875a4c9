package wechattest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Mini programs, mobile apps and websites have no follower API: the
// company's own backend keeps the openid (and, once the app is bound, the
// unionid) of each user it saw log in, and wxscope reads those records from
// an export. A World holds such apps beside its official accounts, drawn
// from the same persons, so their members link to the accounts' followers
// through the unionids of their open platform, and writes their exports in
// the shapes real ones come in.

// Import formats a World writes.
const (
	// FormatCSV is a spreadsheet-style export: a UTF-8 BOM, a header row,
	// RFC 4180 quoting (a nickname column with commas, quotes and CJK),
	// first_seen as a DATETIME without a zone, last_seen as RFC 3339.
	FormatCSV = "csv"
	// FormatTSV is what `mysql -B -e 'select ...'` prints: a header row,
	// tab-separated, NULL for a missing unionid, DATETIMEs in China time.
	FormatTSV = "tsv"
	// FormatJSONLines is one object a line, times in unix seconds.
	FormatJSONLines = "jsonl"
)

// ImportSpec describes an app of another kind than an official account.
type ImportSpec struct {
	Name     string // short label, e.g. "mall"
	Kind     string // "miniprogram", "mobile" or "web"
	AppID    string // "" → derived from the seed
	Platform string // open platform id, e.g. "P1"; "" = not bound (no unionids)
	Members  int    // rows in the export: users seen logging in
	// BeforeBinding is how many of the members were recorded before the app
	// was bound to its platform and have not logged in since: their rows
	// carry no unionid. At most Members.
	BeforeBinding int
	Format        string // FormatCSV, FormatTSV or FormatJSONLines; "" is CSV
}

// ImportInfo is what a test or the demo needs to configure an imported app.
type ImportInfo struct {
	Name, Kind, AppID, Platform, Format string
}

// ImportRow is one member of an imported app as the export holds it.
type ImportRow struct {
	OpenID, UnionID     string // UnionID "" before the binding, or when not bound
	FirstSeen, LastSeen int64  // unix seconds
	Nickname            string
}

type importApp struct {
	info     ImportInfo
	ids      *idCodec
	unionIDs *idCodec // nil when not bound
	salt     uint64
	members  []uint32 // persons, in the export's order (not sorted: a database prints its own order)
	before   int      // the first before members of the export were recorded before the binding
}

// bindingAge is how long before the world's today the imported apps were
// bound: records older than that, of users not seen since, lack a unionid.
const bindingAge = 400 * 24 * 3600

// nicknames exercise an export's quoting: commas, quotes, CJK, emoji.
var nicknames = []string{"李雷", "Han Meimei", "王芳, 上海", `say "hi"`, "🐱 猫奴", "", "O'Brien", "张伟\t(tab)", "Zoë"}

// addImports builds the spec's imported apps; NewWorld calls it once the
// population is sized.
func (w *World) addImports(spec WorldSpec, platforms map[string]*idCodec) {
	for i, is := range spec.Imports {
		if is.Members < 0 || is.BeforeBinding < 0 || is.BeforeBinding > is.Members {
			panic(fmt.Sprintf("wechattest: import %q: bad member counts", is.Name))
		}
		switch is.Kind {
		case "miniprogram", "mobile", "web":
		default:
			panic(fmt.Sprintf("wechattest: import %q: kind %q is not miniprogram, mobile or web", is.Name, is.Kind))
		}
		format := is.Format
		switch format {
		case "":
			format = FormatCSV
		case FormatCSV, FormatTSV, FormatJSONLines:
		default:
			panic(fmt.Sprintf("wechattest: import %q: unknown format %q", is.Name, is.Format))
		}
		for _, a := range w.apps {
			if a.info.Name == is.Name {
				panic(fmt.Sprintf("wechattest: duplicate app name %q", is.Name))
			}
		}
		info := ImportInfo{Name: is.Name, Kind: is.Kind, AppID: is.AppID, Platform: is.Platform, Format: format}
		if info.AppID == "" {
			sum := sha256.Sum256(fmt.Appendf(nil, "wechattest/import/%d/%d/%s", spec.Seed, i, is.Name))
			info.AppID = "wx" + hex.EncodeToString(sum[:8])
		}
		if w.byID[info.AppID] != nil || w.importByName(info.AppID) != nil {
			panic(fmt.Sprintf("wechattest: duplicate appid %q", info.AppID))
		}
		ia := &importApp{
			info:   info,
			ids:    newIDCodec(spec.Seed, "openid", info.AppID),
			salt:   salt(spec.Seed, "import/"+info.AppID),
			before: is.BeforeBinding,
		}
		if is.Platform != "" {
			if platforms[is.Platform] == nil {
				platforms[is.Platform] = newIDCodec(spec.Seed, "unionid", is.Platform)
			}
			ia.unionIDs = platforms[is.Platform]
		}
		q := newPerm(uint64(w.persons), salt(spec.Seed, "members/"+info.AppID))
		ia.members = make([]uint32, is.Members)
		for j := range ia.members {
			ia.members[j] = uint32(q.at(uint64(j)))
		}
		w.imports = append(w.imports, ia)
	}
}

func (w *World) importByName(s string) *importApp {
	for _, ia := range w.imports {
		if ia.info.Name == s || ia.info.AppID == s {
			return ia
		}
	}
	return nil
}

// Imports lists the world's imported apps in spec order.
func (w *World) Imports() []ImportInfo {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]ImportInfo, len(w.imports))
	for i, ia := range w.imports {
		out[i] = ia.info
	}
	return out
}

// row derives the export's row of the j-th member of ia.
func (w *World) importRow(ia *importApp, j int) ImportRow {
	p := ia.members[j]
	h := mix(ia.salt ^ uint64(p)*0x9e3779b97f4a7c15)
	bound := w.today - bindingAge
	r := ImportRow{OpenID: ia.ids.encode(p), Nickname: nicknames[(h>>40)%uint64(len(nicknames))]}
	if j < ia.before {
		// Recorded before the binding, not seen since: no unionid.
		const span = 2 * 365 * 24 * 3600
		r.FirstSeen = bound - 1 - int64(mix(h+1)%span)
		r.LastSeen = r.FirstSeen + int64(mix(h+2)%uint64(bound-r.FirstSeen))
		return r
	}
	const span = 3 * 365 * 24 * 3600
	r.FirstSeen = w.today - 1 - int64(mix(h+1)%span)
	from := max(r.FirstSeen, bound)
	r.LastSeen = from + int64(mix(h+2)%uint64(w.today-from))
	if ia.unionIDs != nil {
		r.UnionID = ia.unionIDs.encode(p)
	}
	return r
}

// ImportRows returns the rows of the named imported app (by name or appid)
// in the export's order: the truth a test compares the cache with.
func (w *World) ImportRows(name string) []ImportRow {
	w.mu.RLock()
	defer w.mu.RUnlock()
	ia := w.importByName(name)
	if ia == nil {
		return nil
	}
	out := make([]ImportRow, len(ia.members))
	for j := range ia.members {
		out[j] = w.importRow(ia, j)
	}
	return out
}

// ImportOpenID returns the openid person has (or would have) in the named
// imported app; "" for an unknown app or person.
func (w *World) ImportOpenID(name string, person int) string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	ia := w.importByName(name)
	if ia == nil || person < 0 || person >= int(w.persons) {
		return ""
	}
	return ia.ids.encode(uint32(person))
}

// WriteImport writes the export of the named imported app (by name or
// appid) in its format.
func (w *World) WriteImport(name string, out io.Writer) error {
	w.mu.RLock()
	ia := w.importByName(name)
	w.mu.RUnlock()
	if ia == nil {
		return fmt.Errorf("wechattest: no imported app %q", name)
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	china := time.FixedZone("CST", 8*3600)
	datetime := func(t int64) string { return time.Unix(t, 0).In(china).Format(time.DateTime) }
	switch ia.info.Format {
	case FormatCSV:
		bw.WriteString("\ufeffopenid,unionid,nickname,first_seen,last_seen\r\n")
	case FormatTSV:
		bw.WriteString("openid\tunionid\tfirst_seen\tlast_seen\n")
	}
	for j := range ia.members {
		w.mu.RLock()
		r := w.importRow(ia, j)
		w.mu.RUnlock()
		switch ia.info.Format {
		case FormatCSV:
			fmt.Fprintf(bw, "%s,%s,%s,%s,%s\r\n", r.OpenID, r.UnionID, csvField(r.Nickname),
				datetime(r.FirstSeen), time.Unix(r.LastSeen, 0).In(china).Format(time.RFC3339))
		case FormatTSV:
			u := r.UnionID
			if u == "" {
				u = "NULL"
			}
			fmt.Fprintf(bw, "%s\t%s\t%s\t%s\n", r.OpenID, u, datetime(r.FirstSeen), datetime(r.LastSeen))
		case FormatJSONLines:
			b, _ := json.Marshal(struct {
				OpenID    string `json:"openid"`
				UnionID   string `json:"unionid,omitempty"`
				Nickname  string `json:"nickname"`
				FirstSeen int64  `json:"first_seen"`
				LastSeen  int64  `json:"last_seen"`
			}{r.OpenID, r.UnionID, r.Nickname, r.FirstSeen, r.LastSeen})
			bw.Write(b)
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// csvField quotes a field as RFC 4180 does when it must.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") && s == strings.TrimSpace(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
