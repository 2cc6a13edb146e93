#!/usr/bin/python3
"""demo.py -- `make demo`: a believable morning in Jinan, told in words.

Seeds a city (Jinan's districts, streets and communities; a few thousand
volunteers with skills, homes, reach and weekly availability), then plays
the four steps of the "order" way of volunteer service against a running
wishd, speaking MessagePack-RPC to it directly:

  中心制单  the centre posts its service menu and a task of its own
  群众点单  residents make micro-wishes and order from the menu
  志愿领单  volunteers get offers, accept or decline, check in and out
  社会评单  residents confirm the service and rate it

and ends with the quarter's board and the centre's numbers.

Tokens are minted with `wishctl token` (never re-implemented here), one
call per person, in parallel; --token-cache keeps them for the next run.
Everything the story does goes through the public protocol
(docs/protocol.md); one connection per acting
person, and for the seeding many short connections, each pipelining its
hello and volunteer.update.

    scripts/demo.py --port 7400 --secret-file run/demo/secret
    scripts/demo.py ... --volunteers 200 --wishes 5 --fast   (smoke test)

Exit status: 0 when the story ran, 1 when wishd refused something the
story needs, 2 for bad usage, 69 when wishd cannot be reached.
"""

import argparse
import asyncio
import concurrent.futures
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import time
import unicodedata

try:
    import msgpack
except ImportError:  # pragma: no cover; --region-names needs none
    msgpack = None

TZ = 8 * 3600  # Jinan local time, UTC+8 (wishd's default tz-offset)
CITY = "jinan"

# ------------------------------------------------------------- geography
#
# District -> streets (街道/镇) -> communities (社区/村). Names are real
# places of Jinan; coordinates are approximate centres (WGS84), and the
# community names are examples, their exact placement approximate. The
# weight of a district and of a street says how many of the volunteers
# live there: the old town is dense, the villages to the south sparse.

DISTRICTS = [
    ("lixia", "Lixia", "历下", 0.31, [
        ("daminghu", "Daminghu", "大明湖", 117.025, 36.673, 5,
         [("qushuiting", "Qushuiting", "曲水亭"), ("yanbei", "Yanbei", "堰北"),
          ("mingfu", "Mingfu", "明府")]),
        ("quancheng", "Quancheng Road", "泉城路", 117.022, 36.664, 5,
         [("xinhe", "Xinhe", "新和"), ("shunjing", "Shunjing", "舜井"),
          ("furong", "Furong", "芙蓉")]),
        ("dongguan", "Dongguan", "东关", 117.040, 36.676, 4,
         [("qingchun", "Qingchun", "青春"),
          ("shanshuigou", "Shanshuigou", "山水沟")]),
        ("jiefanglu", "Jiefang Road", "解放路", 117.046, 36.664, 3,
         [("jianxin", "Jianxin", "建新"), ("shengli", "Shengli", "胜利")]),
        ("wendong", "Wendong", "文东", 117.061, 36.672, 3,
         [("wendong", "Wendong", "文东"), ("shida", "Shida", "师大")]),
        ("yanshan", "Yanshan", "燕山", 117.080, 36.661, 3,
         [("yanzishan", "Yanzishan", "燕子山"), ("shunhua", "Shunhua", "舜华")]),
        ("yaojia", "Yaojia", "姚家", 117.101, 36.667, 2,
         [("yaojia", "Yaojia", "姚家"), ("xinyuan", "Xinyuan", "新苑")]),
        ("longdong", "Longdong", "龙洞", 117.096, 36.630, 1,
         [("longdong", "Longdong", "龙洞")]),
    ]),
    ("shizhong", "Shizhong", "市中", 0.25, [
        ("daguanyuan", "Daguanyuan", "大观园", 116.990, 36.661, 4,
         [("jingsi", "Jingsi", "经四"), ("daguan", "Daguan", "大观")]),
        ("weijiazhuang", "Weijiazhuang", "魏家庄", 116.984, 36.667, 3,
         [("wanzixiang", "Wanzixiang", "万字巷"),
          ("weijiazhuang", "Weijiazhuang", "魏家庄")]),
        ("ganshiqiao", "Ganshiqiao", "杆石桥", 117.003, 36.655, 3,
         [("ganshiqiao", "Ganshiqiao", "杆石桥"), ("jingqi", "Jingqi", "经七")]),
        ("silicun", "Silicun", "四里村", 117.000, 36.645, 3,
         [("silicun", "Silicun", "四里村")]),
        ("qilishan", "Qilishan", "七里山", 117.010, 36.636, 3,
         [("qilishan", "Qilishan", "七里山"),
          ("yingxiongshan", "Yingxiongshan", "英雄山")]),
        ("erqi", "Erqi", "二七", 116.995, 36.631, 2,
         [("erqi", "Erqi", "二七"), ("jianshe", "Jianshe", "建设")]),
        ("wangguanzhuang", "Wangguanzhuang", "王官庄", 116.960, 36.642, 2,
         [("wangguanzhuang", "Wangguanzhuang", "王官庄")]),
        ("shungeng", "Shungeng", "舜耕", 117.020, 36.622, 2,
         [("shungeng", "Shungeng", "舜耕")]),
    ]),
    ("tianqiao", "Tianqiao", "天桥", 0.18, [
        ("zhijinshi", "Zhijinshi", "制锦市", 117.002, 36.676, 3,
         [("zhijinshi", "Zhijinshi", "制锦市"),
          ("chenjialou", "Chenjialou", "陈家楼")]),
        ("guanzhaying", "Guanzhaying", "官扎营", 116.985, 36.683, 3,
         [("guanzhaying", "Guanzhaying", "官扎营"), ("qianjie", "Qianjie", "前街")]),
        ("beiyuan", "Beiyuan", "北园", 117.005, 36.692, 3,
         [("beiyuan", "Beiyuan", "北园"),
          ("xiaoxinzhuang", "Xiaoxinzhuang", "小辛庄")]),
        ("gongrenxincun", "Gongren Xincun", "工人新村", 116.970, 36.680, 2,
         [("gongrenxincun", "Gongren Xincun", "工人新村")]),
        ("luokou", "Luokou", "泺口", 116.990, 36.713, 2,
         [("luokou", "Luokou", "泺口"), ("huanghe", "Huanghe", "黄河")]),
        ("yaoshan", "Yaoshan", "药山", 116.960, 36.704, 1,
         [("yaoshan", "Yaoshan", "药山")]),
    ]),
    ("licheng", "Licheng", "历城", 0.21, [
        ("hongjialou", "Hongjialou", "洪家楼", 117.065, 36.688, 4,
         [("hongjialou", "Hongjialou", "洪家楼"), ("shanda", "Shanda", "山大")]),
        ("dongfeng", "Dongfeng", "东风", 117.076, 36.697, 3,
         [("dongfeng", "Dongfeng", "东风"), ("huashan", "Huashan", "华山")]),
        ("quanfu", "Quanfu", "全福", 117.045, 36.690, 3,
         [("quanfu", "Quanfu", "全福"), ("huaxin", "Huaxin", "华信")]),
        ("wangsheren", "Wangsheren", "王舍人", 117.130, 36.708, 2,
         [("wangsheren", "Wangsheren", "王舍人"), ("qixing", "Qixing", "七星")]),
        ("tangye", "Tangye", "唐冶", 117.210, 36.685, 1,
         [("tangye", "Tangye", "唐冶")]),
        ("duozhuang", "Duozhuang town", "垛庄镇", 117.245, 36.435, 0.15,
         [("duozhuang", "Duozhuang village", "垛庄村")]),
    ]),
    ("zhangqiu", "Zhangqiu", "章丘", 0.05, [
        ("mingshui", "Mingshui", "明水", 117.530, 36.715, 3,
         [("mingshui", "Mingshui", "明水"), ("baimai", "Baimai", "百脉")]),
        ("wenzu", "Wenzu", "文祖", 117.400, 36.575, 1,
         [("wenzu", "Wenzu", "文祖"), ("qinglong", "Qinglong", "青龙")]),
    ]),
]



def region_names():
    """The demo city's regions by path with their names, {"zh", "en"}:
    the table the web apps read from config.json's "regionNames"
    (docs/apps.md). A street's Chinese name gets 街道 unless it is a
    town (镇), a community's 社区 unless it is a village (村)."""
    def zh(name, suffix):
        return name if name.endswith(("镇", "村")) else name + suffix
    out = {CITY: {"zh": "济南市", "en": "Jinan"}}
    for dcode, den, dzh, _w, streets in DISTRICTS:
        dpath = "%s/%s" % (CITY, dcode)
        out[dpath] = {"zh": dzh + "区", "en": den}
        for scode, sen, szh, _lon, _lat, _sw, comms in streets:
            spath = "%s/%s" % (dpath, scode)
            out[spath] = {"zh": zh(szh, "街道"), "en": sen}
            for ccode, cen, czh in comms:
                out["%s/%s" % (spath, ccode)] = {"zh": zh(czh, "社区"),
                                                 "en": cen}
    return out


# Village streets: homes spread wider, and nobody seeds their wishes into
# the smoke test's small city.
RURAL = {"duozhuang", "wenzu"}

SKILLS = {
    # skill: (share of volunteers having it, words)
    "elder_care": (0.34, "elder care"),
    "shopping": (0.30, "shopping and errands"),
    "repair": (0.18, "household repairs"),
    "tutoring": (0.18, "tutoring"),
    "medical": (0.09, "medical"),
    "legal": (0.06, "legal aid"),
    "psychology": (0.05, "psychological support"),
}

SURNAMES = [("Wang", "王"), ("Li", "李"), ("Zhang", "张"), ("Liu", "刘"),
            ("Chen", "陈"), ("Yang", "杨"), ("Zhao", "赵"), ("Huang", "黄"),
            ("Zhou", "周"), ("Wu", "吴"), ("Xu", "徐"), ("Sun", "孙"),
            ("Ma", "马"), ("Zhu", "朱"), ("Hu", "胡"), ("Guo", "郭"),
            ("Gao", "高"), ("Lin", "林"), ("Song", "宋"), ("Han", "韩")]
GIVEN = [("Wei", "伟"), ("Fang", "芳"), ("Na", "娜"), ("Min", "敏"),
         ("Jing", "静"), ("Qiang", "强"), ("Lei", "磊"), ("Jun", "军"),
         ("Yang", "洋"), ("Yong", "勇"), ("Yan", "艳"), ("Jie", "杰"),
         ("Tao", "涛"), ("Ming", "明"), ("Chao", "超"), ("Xiuying", "秀英"),
         ("Hua", "华"), ("Ping", "平"), ("Gang", "刚"), ("Guiying", "桂英"),
         ("Hui", "慧"), ("Lan", "兰"), ("Haiyan", "海燕"), ("Jianguo", "建国"),
         ("Xiaoyu", "晓宇"), ("Yuting", "雨婷"), ("Zihan", "子涵")]

# The centre's menu (中心制单): what residents may order at any time.
MENU = [
    ("Home visit to an elderly person living alone", "elder_care",
     "A chat, a cup of tea, a check that all is well."),
    ("Grocery run for someone who cannot go out", "shopping",
     "Rice, oil, vegetables, medicine from the community clinic."),
    ("Small repairs at home: tap, lamp, lock", "repair",
     "Bring your own tools; parts are paid by the household."),
    ("Homework help for a primary-school child", "tutoring",
     "One hour after school, at home or at the community station."),
    ("Blood pressure check and medicine advice", "medical",
     "By a registered doctor or nurse from the talent pool."),
    ("Free legal advice: pension, tenancy, inheritance", "legal",
     "By a lawyer from the legal-aid pool."),
]

# Residents' micro-wishes (微心愿): who, what, which skill, the note the
# assigned volunteer will read.
WISHES = [
    ("Grandma Liu", "Help carrying rice and oil up to the 5th floor",
     "shopping", "No lift; my knees are bad. Building 3, unit 2."),
    ("Grandpa Zhao", "A visit: I live alone and would like to talk",
     "elder_care", "86, widowed; loves stories about the Yellow River."),
    ("Ms Sun", "A school bag for my grandson starting Grade 1",
     "shopping", "His parents work in Shanghai; a simple blue one is fine."),
    ("Mr Gao", "My kitchen tap has been leaking for a week",
     "repair", "The washer, I think. I have a spanner but not the hands."),
    ("Auntie Wang", "Measure my blood pressure and explain my new pills",
     "medical", "Discharged from Qilu Hospital last week."),
    ("Xiao Chen's mother", "Maths homework help for my Grade 5 daughter",
     "tutoring", "Fractions. We both work late on Tuesdays."),
    ("Grandpa Ma", "Read me the newspaper; my eyes are failing",
     "elder_care", "Qilu Evening News, the local pages."),
    ("Mrs Hu", "Advice on my late husband's pension paperwork",
     "legal", "The street office sent a form I do not understand."),
    ("Grandma Song", "Change the bulb in our dark stairwell",
     "repair", "Third floor landing; neighbours have fallen twice."),
    ("Mr Han", "Someone to talk to since my wife passed away",
     "psychology", "Mornings are the hardest."),
    ("Grandpa Guo", "Fetch my medicine from the community clinic",
     "shopping", "The prescription is ready at the counter, under Guo."),
    ("Ms Zhu", "English speaking practice before my son's exam",
     "tutoring", "Middle-school entrance exam in June."),
    ("Grandma Xu", "Teach me to make video calls to my grandchildren",
     "tutoring", "They are in Qingdao; I have a new phone."),
    ("Mr Lin", "Fix the brake of my wheelchair",
     "repair", "The left one slips."),
    ("Auntie Yang", "Walk with me to the morning market",
     "elder_care", "I am slow but I like to choose my own vegetables."),
    ("Mr Zhou", "Help me fill in the disability allowance form online",
     "legal", "My daughter used to do it."),
    ("Grandma Wu", "Check on my husband while I see the doctor",
     "elder_care", "He has dementia and must not be alone."),
    ("Mrs Huang", "Help buying a winter coat at the market",
     "shopping", "Size XL, something warm."),
    ("Grandpa Li", "My radio stopped working",
     "repair", "It is old but it was my father's."),
    ("Ms Zhang", "Someone to keep my lonely mother company",
     "psychology", "She has been low since moving into the city."),
]

DECLINE_REASONS = [
    "at work until noon", "taking my grandson to school this morning",
    "too far for me today", "my back hurts today",
    "already promised my neighbour a hand",
]
COMMENTS = {
    5: ["So kind, and on time.", "Like family. Thank you!",
        "Patient and careful; we will ask again.",
        "Wonderful, my mother smiled all day."],
    4: ["Good help, a little late.", "Did everything; quiet but kind.",
        "Helpful, thank you."],
}


def fmt_place(comm):
    """'Yanbei community, Daminghu street, Lixia' for a community record."""
    name, street = comm["name"], comm["street_name"]
    if not name.endswith("village"):
        name += " community"
    if not street.endswith("town"):
        street += " street"
    return "%s, %s, %s" % (name, street, comm["district_name"])


def metres(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (as Redis GEO computes it)."""
    r = 6372797.560856
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = (math.sin(dp / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2)
    return 2 * r * math.asin(math.sqrt(a))


def offset(lon, lat, east_m, north_m):
    return (lon + east_m / (111320.0 * math.cos(math.radians(lat))),
            lat + north_m / 110540.0)


# ------------------------------------------------------------------ city

class City:
    """The generated city: communities and volunteers with their profiles
    (the same ones sent to wishd, kept here so that the story can choose
    wishes someone can take, and name people)."""

    def __init__(self, rng, n_volunteers, now):
        self.rng = rng
        self.now = now
        self.communities = []
        self.streets = []
        for dkey, dname, dzh, dweight, streets in DISTRICTS:
            for skey, sname, szh, lon, lat, sweight, comms in streets:
                st = {"key": skey, "name": sname, "zh": szh, "lon": lon,
                      "lat": lat, "district": dkey, "district_name": dname,
                      "weight": dweight * sweight / sum(s[5] for s in streets)}
                self.streets.append(st)
                for i, (ckey, cname, czh) in enumerate(comms):
                    # Communities sit within a few hundred metres of their
                    # street's centre, each in its own direction.
                    ang = 2 * math.pi * i / max(1, len(comms)) + 0.7
                    dist = 0 if len(comms) == 1 else 450
                    clon, clat = offset(lon, lat, dist * math.cos(ang),
                                        dist * math.sin(ang))
                    self.communities.append({
                        "key": ckey, "name": cname, "zh": czh,
                        "lon": clon, "lat": clat, "street": skey,
                        "street_name": sname, "district": dkey,
                        "district_name": dname,
                        "region": "/".join((CITY, dkey, skey, ckey)),
                    })
        self.volunteers = [self._volunteer(i) for i in range(n_volunteers)]
        self.by_id = {v["id"]: v for v in self.volunteers}

    def _volunteer(self, i):
        rng = self.rng
        st = rng.choices(self.streets, [s["weight"] for s in self.streets])[0]
        spread = 2500 if st["key"] in RURAL else 900
        lon, lat = offset(st["lon"], st["lat"], rng.gauss(0, spread),
                          rng.gauss(0, spread))
        sur, giv = rng.choice(SURNAMES), rng.choice(GIVEN)
        skills = [s for s, (share, _) in SKILLS.items()
                  if rng.random() < share]
        if not skills:
            skills = [rng.choices(list(SKILLS),
                                  [v[0] for v in SKILLS.values()])[0]]
        pro = "medical" in skills or "legal" in skills
        kind = rng.choices(["retired", "worker", "student"], [45, 40, 15])[0]
        if pro:
            radius = rng.choice([6000, 8000, 10000, 15000])
        elif st["key"] in RURAL:
            radius = rng.choice([5000, 8000, 12000])
        else:
            radius = rng.choice([1500, 2000, 3000, 3000, 5000])
        weekly = self._weekly(kind)
        v = {
            "id": "vol-%s-%04d" % (st["district"], i + 1),
            "name": "%s %s %s%s" % (sur[0], giv[0], sur[1], giv[1]),
            "short": "%s %s" % (sur[0], giv[0]),
            "district": st["district"],
            "region": "%s/%s" % (CITY, st["district"]),
            "lon": round(lon, 6), "lat": round(lat, 6),
            "skills": skills, "radius": radius,
            "max_active": 3 if kind == "retired" else 2,
            "weekly": weekly, "kind": kind,
            "windows": [],
        }
        # Three in four have said "free today" in the app: a one-off window
        # over the next day (besides their weekly slots).
        if rng.random() < 0.75:
            v["windows"] = [[self.now - 3600, self.now + 86400]]
        return v

    def _weekly(self, kind):
        """Weekly slots [weekday 0=Sunday..6, "HH:MM", "HH:MM"], local."""
        rng = self.rng
        out = []
        if kind == "retired":
            for d in sorted(rng.sample(range(1, 6), rng.randint(2, 5))):
                out.append([d, "07:30", "11:30"])
                if rng.random() < 0.5:
                    out.append([d, "14:30", "17:30"])
            if rng.random() < 0.3:
                out.append([6, "09:00", "12:00"])
        elif kind == "worker":
            for d in sorted(rng.sample(range(1, 6), rng.randint(1, 3))):
                out.append([d, "18:30", "21:00"])
            out.append([6, "09:00", "17:00"] if rng.random() < 0.6
                       else [0, "14:00", "18:00"])
        else:
            out.append([6, "08:30", "17:30"])
            out.append([0, "08:30", "12:00"])
        return out

    def fits(self, v, skill, lon, lat, start, end, region):
        """Whether wishd's matcher could offer v the task (it checks the
        same things, plus the volunteer's load and other assignments)."""
        if skill not in v["skills"]:
            return False
        if not (region == v["region"] or region.startswith(v["region"] + "/")):
            return False
        if metres(v["lon"], v["lat"], lon, lat) > v["radius"]:
            return False
        for a, b in v["windows"]:
            if a <= start and end <= b:
                return True
        ls = start + TZ
        wd = (ls // 86400 + 4) % 7
        frm, to = (ls % 86400) / 60, (ls % 86400) / 60 + (end - start) / 60
        for d, a, b in v["weekly"]:
            ha, ma = map(int, a.split(":"))
            hb, mb = map(int, b.split(":"))
            if d == wd and ha * 60 + ma <= frm and to <= hb * 60 + mb:
                return True
        return False

    def candidates(self, skill, lon, lat, start, end, region):
        return [v for v in self.volunteers
                if self.fits(v, skill, lon, lat, start, end, region)]


# ---------------------------------------------------------------- tokens

class Tokens:
    """Mints tokens with `wishctl token`, in parallel, optionally cached
    in a file (mode 0600) keyed by a hash of the secret."""

    TTL = 7 * 86400

    def __init__(self, wishctl, secret_file, cache_path):
        self.wishctl = wishctl
        self.secret_file = secret_file
        self.cache_path = cache_path
        with open(secret_file, "rb") as f:
            self.secret_id = hashlib.sha256(f.read()).hexdigest()
        self.tokens = {}
        self.dirty = False
        self.minted = 0
        if cache_path and os.path.exists(cache_path):
            try:
                with open(cache_path) as f:
                    c = json.load(f)
                if c.get("secret") == self.secret_id:
                    keep = time.time() + 2 * 3600
                    self.tokens = {k: tuple(v) for k, v in c["tokens"].items()
                                   if v[1] > keep}
            except (OSError, ValueError, KeyError, TypeError):
                self.tokens = {}

    def _mint(self, spec):
        user, role, region = spec
        ttl = self.TTL if self.cache_path else 86400
        p = subprocess.run(
            [self.wishctl, "token", "--secret-file", self.secret_file,
             "--user", user, "--role", role, "--region", region,
             "--ttl", str(ttl)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if p.returncode != 0:
            raise RuntimeError("wishctl token --user %s: %s" % (
                user, p.stderr.decode(errors="replace").strip()))
        return p.stdout.decode().strip(), int(time.time()) + ttl

    def many(self, specs, progress=None):
        """Mints every (user, role, region) not cached yet."""
        have = set(self.tokens)
        todo = [s for s in specs if self._key(s) not in have]
        if todo:
            workers = max(2, min(16, 2 * (os.cpu_count() or 2)))
            with concurrent.futures.ThreadPoolExecutor(workers) as ex:
                for i, (spec, tok) in enumerate(zip(todo,
                                                    ex.map(self._mint, todo))):
                    self.tokens[self._key(spec)] = tok
                    if progress and (i + 1) % 500 == 0:
                        progress(i + 1, len(todo))
            self.dirty = True
            self.minted += len(todo)
        return len(todo)

    def get(self, user, role, region):
        spec = (user, role, region)
        if self._key(spec) not in self.tokens:
            self.tokens[self._key(spec)] = self._mint(spec)
            self.minted += 1
            self.dirty = True
        return self.tokens[self._key(spec)][0]

    @staticmethod
    def _key(spec):
        return "%s|%s|%s" % spec

    def save(self):
        if not (self.cache_path and self.dirty):
            return
        tmp = self.cache_path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"secret": self.secret_id, "tokens": self.tokens}, f)
        os.replace(tmp, self.cache_path)


# ------------------------------------------------------------ the client

class RpcError(Exception):
    NAMES = {1: "BAD_REQUEST", 2: "UNAUTHENTICATED", 3: "FORBIDDEN",
             4: "NOT_FOUND", 5: "CONFLICT", 6: "RATE_LIMITED",
             7: "UNAVAILABLE", 8: "INTERNAL", 9: "NO_METHOD", 10: "TOO_LARGE"}

    def __init__(self, method, code, message):
        super().__init__("%s: %s %s" % (method, self.NAMES.get(code, code),
                                        message))
        self.code = code
        self.message = message


class Conn:
    """One MessagePack-RPC connection to wishd: calls matched to replies by
    msgid, events kept in arrival order for whoever waits for them."""

    def __init__(self, who):
        self.who = who
        self.reader = self.writer = None
        self.next_id = 0
        self.pending = {}
        self.events = []
        self.taken = set()
        self.changed = asyncio.Event()
        self.listeners = []
        self.task = None
        self.closed = False

    async def open(self, host, port, token=None, timeout=5):
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout)
        self.task = asyncio.ensure_future(self._read())
        if token:
            return await self.call("hello", token=token)
        return None

    async def _read(self):
        up = msgpack.Unpacker(raw=False, strict_map_key=False)
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                up.feed(data)
                for msg in up:
                    self._dispatch(msg)
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed = True
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError(
                        "%s: wishd closed the connection" % self.who))
            self.pending.clear()
            self.changed.set()

    def _dispatch(self, msg):
        if msg[0] == 1:
            fut = self.pending.pop(msg[1], None)
            if fut is None or fut.done():
                return
            if msg[2] is not None:
                err = msg[2]
                fut.set_exception(RpcError(fut.method, err[0], err[1]))
            else:
                fut.set_result(msg[3])
        elif msg[0] == 2 and msg[1] == "event":
            for ev in msg[2]:
                self.events.append(ev)
                for fn in self.listeners:
                    fn(ev)
            self.changed.set()
        elif msg[0] == 2 and msg[1] == "error":
            sys.stderr.write("demo.py: wishd closed %s's connection: %r\n"
                             % (self.who, msg[2]))

    def send(self, method, params):
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        fut.method = method
        self.pending[self.next_id] = fut
        self.writer.write(msgpack.packb(
            [0, self.next_id, method, [params] if params else []],
            use_bin_type=True))
        return fut

    async def call(self, method, timeout=10, **params):
        """The result of one request; RATE_LIMITED and UNAVAILABLE (every
        change is safe to retry, docs/protocol.md) are retried a few
        times with a growing pause."""
        for attempt in range(6):
            fut = self.send(method, params)
            try:
                return await asyncio.wait_for(fut, timeout)
            except RpcError as e:
                if e.code not in (6, 7) or attempt == 5:
                    raise
            await asyncio.sleep(0.2 * 2 ** attempt)

    async def wait_event(self, pred, timeout):
        """The first event not taken yet that pred accepts, or None."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if i not in self.taken and pred(ev):
                    self.taken.add(i)
                    return ev
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def close(self):
        if self.writer:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        if self.task:
            await asyncio.gather(self.task, return_exceptions=True)


# ----------------------------------------------------------------- story

class Demo:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.t0 = time.monotonic()
        self.now = int(time.time())
        self.city = City(self.rng, args.volunteers, self.now)
        self.tokens = Tokens(args.wishctl, args.secret_file, args.token_cache)
        self.conns = {}
        self.offered = {}   # task id -> asyncio.Queue of volunteer ids
        self.busy = set()   # volunteers already in the story
        self.accepted = self.declined = self.rated = 0
        self.by_hand = 0  # tasks the centre assigned (task.assign)
        self.story_len = 1.0
        self.failures = []
        self.unused = []

    # -- output --------------------------------------------------------

    def clock(self):
        """The story clock: the morning 07:30-11:45 played in story_len
        real seconds."""
        el = time.monotonic() - self.story_start
        m = 7 * 60 + 30 + int(255 * min(1.0, el / self.story_len))
        return "%02d:%02d" % (m // 60, m % 60)

    def say(self, step, text):
        print("[%s] %s  %s" % (self.clock(), step, text), flush=True)

    def pause(self, slow, fast=0.05):
        return asyncio.sleep(fast if self.a.fast else slow)

    # -- people ---------------------------------------------------------

    async def person(self, user, role, region):
        """The open connection of one acting person, said hello."""
        c = self.conns.get(user)
        if c is None:
            c = Conn(user)
            self.conns[user] = c
            tok = self.tokens.get(user, role, region)
            await c.open(self.a.host, self.a.port, tok)
        return c

    def volunteer(self, vid):
        v = self.city.by_id.get(vid)
        region = v["region"] if v else CITY
        return self.person(vid, "volunteer", region)

    def vname(self, vid):
        v = self.city.by_id.get(vid)
        return v["name"] if v else vid

    def vshort(self, vid):
        v = self.city.by_id.get(vid)
        return v["short"] if v else vid

    def coordinator(self, district=None):
        if district is None:
            return self.person("jinan-centre", "coordinator", CITY)
        return self.person("%s-centre" % district, "coordinator",
                           "%s/%s" % (CITY, district))

    async def next_offer(self, tid, timeout):
        q = self.offered.setdefault(tid, asyncio.Queue())
        try:
            return await asyncio.wait_for(q.get(), timeout)
        except asyncio.TimeoutError:
            return None

    def on_queue(self, ev):
        if ev.get("type") != "queue":
            return
        tid = (ev.get("task") or {}).get("task_id")
        if ev.get("change") == "offered" and tid:
            self.offered.setdefault(tid, asyncio.Queue()).put_nowait(
                ev.get("volunteer_id"))

    # -- seeding --------------------------------------------------------

    def mint_all(self, plans):
        """Every token the seeding and the story will use, up front: the
        volunteers, the residents of the planned wishes, the neighbours
        who rate the centre's task, the district centres."""
        t = time.monotonic()
        specs = [(v["id"], "volunteer", v["region"])
                 for v in self.city.volunteers]
        for i, w in enumerate(plans):
            specs.append((self.resident_id(i, w), "resident",
                          w["comm"]["region"]))
        for k in (1, 2):
            specs.append(("neighbour-qushuiting-%d" % k, "resident",
                          self.qushuiting()["region"]))
        for d in DISTRICTS:
            specs.append(("%s-centre" % d[0], "coordinator",
                          "%s/%s" % (CITY, d[0])))
        fresh = self.tokens.many(specs, lambda i, n: print(
            "  ... %d of %d tokens" % (i, n), flush=True))
        self.reused = len(set(specs)) - fresh
        return time.monotonic() - t

    async def seed(self):
        """Each volunteer: a short connection pipelining hello and
        volunteer.update; at most 64 at a time."""
        sem = asyncio.Semaphore(64)
        errors = []

        async def one(v):
            # RATE_LIMITED (a wishd limiting requests per address) or
            # UNAVAILABLE: try again later, for up to about a minute.
            for attempt in range(12):
                err = await one_try(v)
                if err is None:
                    return
                if err[0] not in (6, 7) or attempt == 11:
                    errors.append("%s: %r" % (v["id"], err))
                    return
                await asyncio.sleep(min(8.0, 0.25 * 2 ** attempt)
                                    * random.uniform(0.5, 1.5))

        async def one_try(v):
            """None, or the [code, message] of the first error."""
            async with sem:
                tok = self.tokens.get(v["id"], "volunteer", v["region"])
                for attempt in range(3):
                    try:
                        r, w = await asyncio.open_connection(self.a.host,
                                                             self.a.port)
                        break
                    except OSError:
                        if attempt == 2:
                            raise
                        await asyncio.sleep(0.1)
                prof = {"name": v["name"], "skills": v["skills"],
                        "lon": v["lon"], "lat": v["lat"],
                        "radius": v["radius"], "max_active": v["max_active"],
                        "weekly": v["weekly"], "windows": v["windows"],
                        "available": True}
                w.write(msgpack.packb([0, 1, "hello", [{"token": tok}]],
                                      use_bin_type=True)
                        + msgpack.packb([0, 2, "volunteer.update", [prof]],
                                        use_bin_type=True))
                up = msgpack.Unpacker(raw=False, strict_map_key=False)
                got, err = 0, None
                try:
                    while got < 2:
                        data = await asyncio.wait_for(r.read(65536), 10)
                        if not data:
                            return err or [0, "connection closed"]
                        up.feed(data)
                        for m in up:
                            if m[0] == 1:
                                got += 1
                                if m[2] is not None and err is None:
                                    err = m[2]
                            elif m[0] == 2 and m[1] == "error" and m[2]:
                                err = err or m[2][0]
                finally:
                    w.close()
                return err

        t = time.monotonic()
        await asyncio.gather(*(one(v) for v in self.city.volunteers))
        if errors:
            raise RuntimeError("seeding: %d volunteers refused, e.g. %s"
                               % (len(errors), errors[0]))
        return time.monotonic() - t

    # -- choosing wishes that the city can answer ------------------------

    @staticmethod
    def resident_id(i, w):
        return "res-%s-%02d" % (w["comm"]["key"], i + 1)

    def qushuiting(self):
        return next(c for c in self.city.communities
                    if c["key"] == "qushuiting")

    def place_near(self, comm, spread=150):
        return offset(comm["lon"], comm["lat"], self.rng.gauss(0, spread),
                      self.rng.gauss(0, spread))

    def pick_wish(self, i, n):
        """A resident, a community, a wish, its place and time, such that
        at least two seeded volunteers fit (wishd decides who really gets
        it). Once in a run of 8 or more, a village wish nobody fits, so
        the story shows the centre dispatching by hand."""
        rng = self.rng
        start = self.now + 60 * rng.choice([10, 15, 20, 25])
        end = start + 60 * rng.choice([45, 60, 60, 90])
        remote = n >= 8 and i == n // 2
        comms = [c for c in self.city.communities
                 if (c["street"] in RURAL) == remote]
        if not self.unused:
            self.unused = list(WISHES)
            rng.shuffle(self.unused)
        for tries in range(400):
            # Each wish of the catalogue once, before any comes again.
            pool = self.unused if tries < 200 else WISHES
            who, title, skill, note = rng.choice(pool)
            comm = rng.choice(comms)
            lon, lat = self.place_near(comm)
            cands = self.city.candidates(skill, lon, lat, start, end,
                                         comm["region"])
            if len(cands) >= 2 if not remote else not cands:
                break
        if (who, title, skill, note) in self.unused:
            self.unused.remove((who, title, skill, note))
        menu = None
        if not remote and rng.random() < 0.3:
            menu = next((m for m in MENU if m[1] == skill), None)
        return {"who": who, "title": title, "skill": skill, "note": note,
                "comm": comm, "lon": round(lon, 6), "lat": round(lat, 6),
                "start": start, "end": end, "menu": menu, "remote": remote}

    # -- 中心制单 --------------------------------------------------------

    async def centre(self):
        centre = await self.coordinator()
        w = await centre.call("queue.watch", region=CITY)
        centre.listeners.append(self.on_queue)
        self.say("中心制单", "The city practice centre (济南市新时代文明实践中心) "
                 "opens its live queue: %d tasks waiting." % len(w["tasks"]))
        self.menu_ids = {}
        for title, skill, note in MENU:
            r = await centre.call("menu.post", title=title, skill=skill,
                                  region=CITY, note=note)
            self.menu_ids[skill] = r["item_id"]
            self.say("中心制单", "Menu item %s: \"%s\" (%s)." % (
                r["item_id"], title, SKILLS[skill][1]))
            await self.pause(0.3, 0)

        # The Lixia district centre's own task: a free clinic at the
        # Daminghu street sub-centre, for as many volunteers as fit.
        comm = self.qushuiting()
        lon, lat = round(comm["lon"], 6), round(comm["lat"], 6)
        start, end = self.now + 20 * 60, self.now + 140 * 60
        skill = "medical"
        cands = self.city.candidates(skill, lon, lat, start, end,
                                     comm["region"])
        if len(cands) < 2:
            skill = "elder_care"
            cands = self.city.candidates(skill, lon, lat, start, end,
                                         comm["region"])
        qty = max(1, min(3, len(cands)))
        title = ("Free blood-pressure checks at the Daminghu sub-centre"
                 if skill == "medical" else
                 "Tea and company for the elderly at the Daminghu sub-centre")
        lixia = await self.coordinator("lixia")
        r = await lixia.call("task.post", title=title, skill=skill,
                             lon=lon, lat=lat, start=start, end=end,
                             region=comm["region"], quantity=qty,
                             note="Meet at the street sub-centre, 2nd floor.")
        self.post = {"id": r["task_id"], "comm": comm, "qty": qty,
                     "title": title, "vols": []}
        self.say("中心制单", "The Lixia district centre posts %s: \"%s\", "
                 "%d volunteer%s with %s skills, starting in 20 minutes." % (
                     r["task_id"], title, qty, "s" if qty > 1 else "",
                     SKILLS[skill][1]))
        # Offers go out at once: every volunteer offered accepts.
        for _ in range(qty):
            vid = await self.next_offer(r["task_id"], 3)
            if vid is None:
                break
            vc = await self.volunteer(vid)
            self.busy.add(vid)
            off = await vc.wait_event(
                lambda e: e.get("type") == "offer"
                and e["task"]["task_id"] == r["task_id"], 5)
            if off is None:
                continue
            asg = await vc.call("offer.accept", offer_id=off["offer_id"])
            self.accepted += 1
            self.post["vols"].append((vid, asg["task"]))
            self.say("志愿领单", "%s, %s away, accepts the offer %s: a "
                     "place on %s." % (self.vname(vid),
                                       fmt_dist(off["task"].get("distance")),
                                       off["offer_id"], r["task_id"]))

    async def centre_service(self):
        """The clinic's volunteers check in early, serve all morning, and
        are confirmed by the centre and rated by neighbours at the end."""
        p = self.post
        await self.pause(2.0, 0.1)
        for vid, task in p["vols"]:
            vc = await self.volunteer(vid)
            lon, lat = offset(task["lon"], task["lat"], 20, -15)
            await vc.call("task.checkin", task_id=p["id"], lon=lon, lat=lat)
            p["t_in"] = time.time()
            self.say("志愿领单", "%s checks in at the sub-centre for %s." % (
                self.vshort(vid), p["id"]))
        await self.morning_done.wait()
        for vid, _ in p["vols"]:
            vc = await self.volunteer(vid)
            await vc.call("task.checkout", task_id=p["id"])
        if p["vols"]:
            self.say("志愿领单", "The clinic closes: %s check out." % ", ".join(
                self.vshort(v) for v, _ in p["vols"]))
        lixia = await self.coordinator("lixia")
        for vid, _ in p["vols"]:
            c = await lixia.call("task.confirm", task_id=p["id"],
                                 volunteer_id=vid)
            self.say("社会评单", "The Lixia centre confirms %s on %s: %.2f h "
                     "(%d s on site), %.2f credit points." % (
                         self.vshort(vid), p["id"], c["hours"],
                         round(time.time() - p.get("t_in", time.time())),
                         c["points"]))
        # Neighbours from the same community rate the centre's service.
        for k, (vid, _) in enumerate(p["vols"][:2]):
            nb = "neighbour-qushuiting-%d" % (k + 1)
            rc = await self.person(nb, "resident", p["comm"]["region"])
            stars = 5 if k == 0 else 4
            comment = self.rng.choice(COMMENTS[stars])
            await rc.call("task.rate", task_id=p["id"], volunteer_id=vid,
                          stars=stars, comment=comment)
            self.rated += 1
            self.say("社会评单", "A neighbour from %s rates %s %s \"%s\"" % (
                p["comm"]["name"], self.vshort(vid), "★" * stars, comment))

    # -- 群众点单 → 志愿领单 → 社会评单, one wish ---------------------------

    async def wish(self, i, w, at):
        await asyncio.sleep(max(0, at - (time.monotonic() - self.story_start)))
        comm = w["comm"]
        rid = self.resident_id(i, w)
        res = await self.person(rid, "resident", comm["region"])
        if w["menu"]:
            items = await res.call("menu.list")
            item = next((m for m in items if m["skill"] == w["skill"]), None)
        else:
            item = None
        if item:
            r = await res.call("menu.order", item_id=item["item_id"],
                               lon=w["lon"], lat=w["lat"], start=w["start"],
                               end=w["end"], note=w["note"])
            what = "orders \"%s\" from the centre's menu (%d items)" % (
                item["title"], len(items))
        else:
            r = await res.call("wish.submit", title=w["title"],
                               skill=w["skill"], lon=w["lon"], lat=w["lat"],
                               start=w["start"], end=w["end"], note=w["note"])
            what = "makes a micro-wish: \"%s\"" % w["title"]
        tid = r["task_id"]
        mins = (w["start"] - int(time.time())) // 60
        self.say("群众点单", "%s (%s) %s; needs %s, in about %d minutes, "
                 "for %d minutes. Task %s is %s." % (
                     w["who"], fmt_place(comm), what, SKILLS[w["skill"]][1],
                     max(0, mins), (w["end"] - w["start"]) // 60, tid,
                     r["status"]))
        if r["status"] == "review":
            co = await self.coordinator(comm["district"])
            await self.pause(1.0)
            await co.call("wish.review", task_id=tid, approve=True)
            self.say("统筹调度", "The %s district centre reviews %s and "
                     "approves it: it opens to volunteers." % (
                         comm["district_name"], tid))

        vid, asg, vc = await self.dispatch(tid, w, comm)
        if asg is None:
            return
        assigned = await res.wait_event(
            lambda e: e.get("type") == "assigned"
            and e["task"]["task_id"] == tid, 3)
        if assigned and assigned.get("volunteer"):
            card = assigned["volunteer"]
            self.say("群众点单", "%s's phone: %s is coming (%s)." % (
                w["who"], card.get("name", vid),
                "rated %.1f" % card["rating"] if card.get("rating")
                else "no ratings yet"))

        # The service: walk over, check in at the door, help, check out.
        await self.pause(self.rng.uniform(1.5, 3.0))
        lon, lat = offset(asg["task"]["lon"], asg["task"]["lat"],
                          self.rng.uniform(-30, 30), self.rng.uniform(-30, 30))
        await vc.call("task.checkin", task_id=tid, lon=lon, lat=lat)
        t_in = time.time()
        self.say("志愿领单", "%s arrives and checks in for %s (%s)." % (
            self.vshort(vid), tid, asg["task"]["title"]))
        await self.pause(self.rng.uniform(2.0, 4.0))
        await vc.call("task.checkout", task_id=tid)
        on_site = time.time() - t_in
        self.say("志愿领单", "%s checks out: done at %s's." % (
            self.vshort(vid), w["who"]))

        # 社会评单: the resident confirms and rates.
        await res.wait_event(lambda e: e.get("type") == "finished"
                             and e.get("task_id") == tid, 5)
        await self.pause(1.0)
        c = await res.call("task.confirm", task_id=tid, volunteer_id=vid)
        stars = self.rng.choice([5, 5, 5, 4])
        comment = self.rng.choice(COMMENTS[stars])
        await res.call("task.rate", task_id=tid, volunteer_id=vid,
                       stars=stars, comment=comment)
        self.rated += 1
        self.say("社会评单", "%s confirms %s (%s is credited %.2f h for %d s "
                 "on site) and rates %s \"%s\"" % (
                     w["who"], tid, self.vshort(vid), c["hours"],
                     round(on_site), "★" * stars, comment))

    async def dispatch(self, tid, w, comm):
        """志愿领单: follows the offers of a task until one is accepted;
        when nobody fits, the district centre dispatches by hand.
        Returns (volunteer id, assignment, connection) or (None,)*3."""
        declines = 0
        vid = await self.next_offer(tid, 3)
        while vid is not None:
            vc = await self.volunteer(vid)
            off = await vc.wait_event(
                lambda e: e.get("type") == "offer"
                and e["task"]["task_id"] == tid, 5)
            if off is None:
                vid = await self.next_offer(tid, 3)
                continue
            self.say("志愿领单", "%s offered to %s (%s away; they see the "
                     "place only roughly until they accept)." % (
                         tid, self.vname(vid),
                         fmt_dist(off["task"].get("distance"))))
            await self.pause(self.rng.uniform(0.8, 2.0))
            if declines < 2 and self.rng.random() < (0.3, 0.15)[declines]:
                reason = self.rng.choice(DECLINE_REASONS)
                await vc.call("offer.decline", offer_id=off["offer_id"],
                              reason=reason)
                declines += 1
                self.declined += 1
                self.say("志愿领单", "%s declines (\"%s\"); the matcher offers "
                         "%s to the next volunteer." % (
                             self.vshort(vid), reason, tid))
                vid = await self.next_offer(tid, 3)
                continue
            try:
                asg = await vc.call("offer.accept", offer_id=off["offer_id"])
            except RpcError as e:
                self.say("志愿领单", "%s is too late: %s." % (
                    self.vshort(vid), e.message))
                vid = await self.next_offer(tid, 3)
                continue
            self.accepted += 1
            self.busy.add(vid)
            self.say("志愿领单", "%s accepts the offer %s: %s is theirs, with "
                     "the exact address and the note: \"%s\"" % (
                         self.vshort(vid), off["offer_id"], tid,
                         asg["task"].get("note", "")))
            return vid, asg, vc

        # Nobody within reach is free: the task stays open (the centre's
        # queue shows it as unmatched) and the district centre phones
        # someone it knows and dispatches by hand (统筹调度).
        self.say("统筹调度", "Nobody with %s skills is free within reach of "
                 "%s; %s stays open and shows as unmatched on the centre's "
                 "queue." % (SKILLS[w["skill"]][1], fmt_place(comm), tid))
        near = sorted((v for v in self.city.volunteers
                       if w["skill"] in v["skills"]
                       and v["id"] not in self.busy),
                      key=lambda v: metres(v["lon"], v["lat"], w["lon"],
                                           w["lat"]))
        co = await self.coordinator()
        for v in near[:5]:
            try:
                asg = await co.call("task.assign", task_id=tid,
                                    volunteer_id=v["id"])
            except RpcError:
                continue
            self.busy.add(v["id"])
            # Not an offer accepted: the stats count it as a match only,
            # and the closing totals must agree with them.
            self.by_hand += 1
            km = metres(v["lon"], v["lat"], w["lon"], w["lat"]) / 1000
            self.say("统筹调度", "The city centre phones %s, %.0f km away, who "
                     "agrees to drive out; it assigns %s by hand "
                     "(task.assign)." % (v["name"], km, tid))
            vc = await self.volunteer(v["id"])
            return v["id"], asg, vc
        self.say("统筹调度", "%s waits for the next round of matching." % tid)
        return None, None, None

    # -- the board ------------------------------------------------------

    async def finale(self):
        centre = await self.coordinator()
        st = await centre.call("stats", region=CITY)
        b = await centre.call("board", region=CITY)
        print()
        print("== The centre's numbers for Jinan (stats) ==")
        c = st["counts"]
        print("  tasks: %s" % ", ".join("%d %s" % (c[k], k) for k in (
            "open", "filled", "done", "review", "cancelled", "expired")
            if c.get(k)))
        o = st["offers"]
        print("  offers: %d sent, %d accepted, %d declined, %d lapsed; "
              "median time to a match %s s over %d matches" % (
                  o["sent"], o["accepted"], o["declined"], o["lapsed"],
                  fmt_num(st["median_match_s"]), st["matched"]))
        if st.get("unmatched_past_start"):
            print("  %d open tasks past their start without enough "
                  "volunteers" % st["unmatched_past_start"])
        print()
        print("== 测评排名: this quarter's board for Jinan (%s) ==" % (
            b["quarter"]))
        # The board counts a service per volunteer confirmed: a task for
        # three counts three, so this may exceed the tasks done above.
        print("  services done %d (one per volunteer confirmed), average "
              "rating %.2f from %d ratings" % (
                  b["tasks_done"], b["rating"], b["ratings"]))
        if b["districts"]:
            print("  districts by service hours: " + ", ".join(
                "%s %.2f h" % (d["region"].split("/")[-1], d["hours"])
                for d in b["districts"]))
        for k, v in enumerate(b["volunteers"][:5]):
            print("  %d. %s %.2f h" % (k + 1, pad(v["name"], 26), v["hours"]))
        print()
        print("Hours are the time actually checked in: this morning ran in "
              "fast-forward,\nso each visit was seconds of real time. A real "
              "one-hour visit credits 1 h;\n4 hours make 1 credit point, "
              "worth 4 yuan at the credit supermarket (志愿+信用).")

    # -- the whole thing ------------------------------------------------

    async def run(self):
        a = self.a
        # Coordinators' tokens first, for the watch hint.
        co_tok = self.tokens.get("lixia-centre", "coordinator", CITY + "/lixia")
        city_tok = self.tokens.get("jinan-centre", "coordinator", CITY)
        port = "" if a.port == 7400 else " --port %d" % a.port
        print("microwish demo: a morning of volunteer service in Jinan (济南)")
        print()
        print("To watch the Lixia district's live queue, in a second terminal:")
        print("  bin/wishctl watch jinan/lixia%s --token %s" % (port, co_tok))
        print("or the whole city:")
        print("  bin/wishctl watch jinan%s --token %s" % (port, city_tok))
        print()

        print("Seeding the city: %d volunteers in %d communities of %d "
              "streets, 5 districts..." % (len(self.city.volunteers),
                                           len(self.city.communities),
                                           len(self.city.streets)))
        n = a.wishes
        plans = [self.pick_wish(i, n) for i in range(n)]
        tmint = self.mint_all(plans)
        tseed = await self.seed()
        by_d = {}
        for v in self.city.volunteers:
            by_d[v["district"]] = by_d.get(v["district"], 0) + 1
        by_s = {s: sum(1 for v in self.city.volunteers if s in v["skills"])
                for s in SKILLS}
        print("  tokens: %d minted with wishctl token in %.1f s%s" % (
            self.tokens.minted, tmint, ", %d reused from %s" % (
                self.reused, a.token_cache) if self.reused else ""))
        print("  profiles: %d volunteer.update calls in %.1f s" % (
            len(self.city.volunteers), tseed))
        print("  by district: " + ", ".join(
            "%s %d" % (d[1], by_d.get(d[0], 0)) for d in DISTRICTS))
        print("  by skill: " + ", ".join(
            "%s %d" % (SKILLS[s][1], n) for s, n in by_s.items()))
        print("  each has weekly slots (local time, e.g. retirees on weekday "
              "mornings,\n  workers in the evenings); %d%% also said \"free "
              "today\" (a one-off window)." % (round(100 * sum(
                  1 for v in self.city.volunteers if v["windows"])
                  / max(1, len(self.city.volunteers)))))
        self.tokens.save()
        print()

        if not a.fast:
            await asyncio.sleep(2)
        spacing = (0.25 if a.fast else a.morning / max(1, n))
        self.story_len = spacing * n + (2 if a.fast else 15)
        self.story_start = time.monotonic()
        self.morning_done = asyncio.Event()

        print("== 1. 中心制单: the centre prepares the menu ==")
        await self.centre()
        print()
        print("== 2-4. 群众点单 → 志愿领单 → 社会评单, through the morning ==")
        print("(a morning in about %d seconds; task times sent to wishd are "
              "real, starting now,\nso that check-in and credit work)" % (
                  round(self.story_len)))
        clinic = asyncio.ensure_future(self.centre_service())
        base = time.monotonic() - self.story_start
        jobs = [asyncio.ensure_future(self.wish(i, w, base + i * spacing))
                for i, w in enumerate(plans)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        self.morning_done.set()
        results.append((await asyncio.gather(clinic,
                                              return_exceptions=True))[0])
        for r in results:
            if isinstance(r, BaseException):
                self.failures.append(r)
                sys.stderr.write("demo.py: a story thread failed: %s\n" % (
                    r if isinstance(r, RpcError) else repr(r)))
        self.story_len = max(1e-9, time.monotonic() - self.story_start)

        await self.finale()
        print()
        print("This morning: %d wishes and one centre task; %d offers "
              "accepted, %d declined, %d dispatched by hand, %d ratings." % (
                  n, self.accepted, self.declined, self.by_hand,
                  self.rated))
        for c in self.conns.values():
            await c.close()
        return 1 if self.failures else 0


def pad(text, width):
    """text padded with spaces to `width` terminal columns (CJK count 2)."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)
    return text + " " * max(0, width - cols)


def fmt_dist(d):
    """A distance as wishd gives it to a volunteer (rounded to 100 m)."""
    if d is None:
        return "some way"
    if d < 100:
        return "under 100 m"
    if d >= 1000:
        return "%.1f km" % (d / 1000.0)
    return "%d m" % d


def fmt_num(x):
    if x is None:
        return "?"
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return str(x)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(
        description="Seed a believable Jinan and play the four steps "
                    "(中心制单, 群众点单, 志愿领单, 社会评单) against wishd.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7400)
    ap.add_argument("--secret-file",
                    help="the secret wishd checks tokens with (required "
                         "but with --region-names)")
    ap.add_argument("--region-names", action="store_true",
                    help="print the demo city's region names as JSON "
                         "(config.json's regionNames) and exit")
    ap.add_argument("--wishctl", default=os.path.join(here, "..", "bin",
                                                      "wishctl"),
                    help="wishctl binary that mints tokens (default "
                         "bin/wishctl)")
    ap.add_argument("--volunteers", type=int, default=3000)
    ap.add_argument("--wishes", type=int, default=20)
    ap.add_argument("--morning", type=float, default=20.0,
                    help="real seconds over which the wishes arrive "
                         "(default 20)")
    ap.add_argument("--fast", action="store_true",
                    help="no pauses: for tests")
    ap.add_argument("--seed", type=int, default=2024,
                    help="random seed of the city and the story")
    ap.add_argument("--token-cache", default=None,
                    help="keep minted tokens in this file for the next run")
    a = ap.parse_args()
    if a.region_names:
        names = region_names()
        sys.stdout.write("{\n%s\n}\n" % ",\n".join(
            "  %s: %s" % (json.dumps(k), json.dumps(names[k], ensure_ascii=False))
            for k in sorted(names)))
        return 0
    if not a.secret_file:
        ap.error("--secret-file is required")
    if msgpack is None:
        sys.stderr.write("demo.py: needs python3-msgpack (scripts/deps)\n")
        return 69
    if a.volunteers < 20 or a.volunteers > 100000:
        ap.error("--volunteers must be 20..100000")
    if a.wishes < 1 or a.wishes > 200:
        ap.error("--wishes must be 1..200")
    if not os.access(a.wishctl, os.X_OK):
        ap.error("no wishctl at %s (run make, or give --wishctl)" % a.wishctl)
    try:
        sys.stdout.reconfigure(encoding="utf-8", errors="replace",
                               line_buffering=True)
    except (AttributeError, ValueError):
        pass
    try:
        with open(a.secret_file, "rb"):
            pass
    except OSError as e:
        ap.error("cannot read the secret file: %s" % e)

    demo = Demo(a)
    try:
        return asyncio.run(demo.run())
    except (ConnectionError, OSError, asyncio.TimeoutError) as e:
        sys.stderr.write("demo.py: wishd at %s:%d is unreachable or stopped "
                         "answering: %r\n" % (a.host, a.port, e))
        return 69
    except RpcError as e:
        sys.stderr.write("demo.py: wishd refused: %s\n" % e)
        return 1
    except RuntimeError as e:
        sys.stderr.write("demo.py: %s\n" % e)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
