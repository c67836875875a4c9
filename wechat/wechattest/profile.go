package wechattest

// Everything about a follower except membership is derived from a hash of
// (app, person), so nothing per follower is stored.

// defaultToday is the world's "today" for generated subscribe times when
// WorldSpec.Today is zero (2025-06-01 00:00 UTC+8), so that tests see the
// same times on every run; generated follows spread over the nine years
// before it.
const (
	defaultToday = int64(1748707200)
	followSpan   = int64(9 * 365 * 24 * 3600)
)

// Scenes follow the confirmed subscribe_scene enum (fact sheet §4.3) with
// rough weights, plus two values the fact sheet could not confirm, so a
// client meets scene strings it does not know.
var scenes = []struct {
	name   string
	weight int
}{
	{"ADD_SCENE_SEARCH", 300},
	{"ADD_SCENE_QR_CODE", 250},
	{"ADD_SCENE_PROFILE_CARD", 90},
	{"ADD_SCENE_PROFILE_LINK", 80},
	{"ADD_SCENE_PROFILE_ITEM", 50},
	{"ADD_SCENE_WECHAT_ADVERTISEMENT", 50},
	{"ADD_SCENE_OTHERS", 50},
	{"ADD_SCENE_PAID", 40},
	{"ADD_SCENE_ACCOUNT_MIGRATION", 30},
	{"ADD_SCENE_LIVESTREAM", 20},
	{"ADD_SCENE_CHANNELS", 20},
	{"ADD_SCENE_REPRINT", 10}, // ❓ unconfirmed
	{"ADD_SCENE_WXA", 10},     // ❓ unconfirmed
}

var sceneTotal = func() int {
	n := 0
	for _, s := range scenes {
		n += s.weight
	}
	return n
}()

var qrSceneStrs = []string{"spring_sale", "store/0231", "活动-2024", "poster?id=42&ch=wx", "门店·静安寺", "🎫ticket"}

var cjkRemarks = []string{"张伟", "老客户", "王芳（上海）", "李娜-VIP", "供应商·陈", "勿扰", "测试账号", "北京朝阳 刘先生", "家人", "重要客户"}

var emojiRemarks = []string{"🎉VIP", "🐱猫奴", "⭐️重要", "👨‍👩‍👧 family", "🚀 early", "❤️", "🇨🇳 大客户"}

var plainRemarks = []string{"VIP/2023", "refund pending", "a/b group B", "<b>bold</b> & co", `say "hi"`}

// hostileRemarks are remarks a malicious operator (or a compromised
// account) could set to attack whoever displays them in a terminal.
var hostileRemarks = []string{
	"\x1b]52;c;cm0gLXJmIH4K\x07",     // OSC 52: write "rm -rf ~" to the clipboard
	"\x1b]0;you have been pwned\x07", // OSC 0: set the window title
	"\x1b[2J\x1b[H",                  // clear the screen, cursor home
	"\x1b[10A\x1b[2K覆盖",              // cursor up 10 lines, erase the line
	"\u009b31mred\u009b0m",           // C1 CSI: colour without ESC
	"\u009d0;title\u009c",            // C1 OSC ... ST: title without ESC
	"\u202egnp.exe",                  // RLO: displays as "exe.png"
	"abc\u2066\u202edef\u2069",       // an isolate hiding an override
	"bell\x07\x08\x7f",               // BEL, BS, DEL
	"line1\nline2\r\tend",            // newlines inside a cell
}

// Tags, in the order tags/get lists them: 0 to 2 are the system's (2 is
// "星标组"), the others the operator's, one named with a terminal escape
// (tag names are operator-written text like remarks). DeletedTagID is on
// some followers' tagid_list but not in the list: a deleted tag.
var tagNames = []struct {
	id   int64
	name string
}{{0, "黑名单"}, {1, "屏蔽组"}, {2, "星标组"}, {100, "老客户"}, {101, "🎁活动"}, {102, "VIP/重要"}, {104, "\x1b[1m加粗\x1b[0m"}}

// DeletedTagID is a tag id some followers carry in tagid_list that tags/get
// no longer lists, as after an operator deleted the tag: a client has only
// its number to show.
const DeletedTagID = 103

// tagSets are the tagid_lists followers carry, not sorted, as real ones.
var tagSets = [][]int64{{}, {2}, {100}, {2, 101}, {100, 101, 102}, {DeletedTagID, 101}, {2, 104}}

// profile is the derived part of a follower's user/info answer.
type profile struct {
	subscribeTime int64
	remark        string
	groupID       int64
	tags          []int64
	scene         string
	qrScene       int64
	qrSceneStr    string
}

func deriveProfile(appSalt uint64, p uint32, today int64) profile {
	h := mix(appSalt ^ uint64(p)*0x9e3779b97f4a7c15)
	h1, h2, h3, h4 := mix(h+1), mix(h+2), mix(h+3), mix(h+4)
	var pr profile
	// The later of two uniform draws: more recent follows than old ones.
	a, b := int64(h1%uint64(followSpan)), int64((h1>>32)%uint64(followSpan))
	pr.subscribeTime = today - min(a, b)

	switch r := h2 % 1000; {
	case r < 820:
	case r < 900:
		pr.remark = cjkRemarks[(h2>>16)%uint64(len(cjkRemarks))]
	case r < 950:
		pr.remark = emojiRemarks[(h2>>16)%uint64(len(emojiRemarks))]
	case r < 975:
		pr.remark = plainRemarks[(h2>>16)%uint64(len(plainRemarks))]
	default:
		pr.remark = hostileRemarks[(h2>>16)%uint64(len(hostileRemarks))]
	}

	switch r := h3 % 100; {
	case r < 60:
		pr.tags = tagSets[0]
	case r < 78:
		pr.tags = tagSets[1]
	case r < 88:
		pr.tags = tagSets[2]
	case r < 95:
		pr.tags = tagSets[3]
	case r < 97:
		pr.tags = tagSets[4]
	case r < 99:
		pr.tags = tagSets[5]
	default:
		pr.tags = tagSets[6]
	}
	if (h3>>16)%100 < 5 {
		pr.groupID = 2 // a few legacy group memberships survive
	}

	r := int(h4 % uint64(sceneTotal))
	for _, s := range scenes {
		if r < s.weight {
			pr.scene = s.name
			break
		}
		r -= s.weight
	}
	if pr.scene == "ADD_SCENE_QR_CODE" {
		if (h4>>20)%10 < 6 {
			pr.qrScene = int64((h4>>24)%100000) + 1 // a permanent QR code's scene id
		} else {
			pr.qrSceneStr = qrSceneStrs[(h4>>24)%uint64(len(qrSceneStrs))]
		}
	}
	return pr
}
