"""The synthetic province's region tree (统计用区划代码) and its assistance standards.

Codes are 12 digits: province 2, city 2, county 2, town 3, village 3. Village codes ending
``001-199`` are 居委会 (urban), ``200-399`` 村委会 (rural) — the convention the pipeline uses to tell
urban from rural for households that are not on the roster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.synth.common import Calendar, stream

PROVINCE_CODE = "52"
PROVINCE_NAME = "黔山省"
CITY_NAMES = ["青川市", "白河市", "临江市", "石门市", "梧桐市", "丰源市"]
COUNTY_STEMS = ["东山", "西岭", "南溪", "北川", "青石", "红岩", "金沙", "玉泉", "清河", "长宁", "永安", "平乐",
                "新民", "双龙", "安和", "兴隆", "桃源", "松柏", "龙潭", "凤鸣", "白沙", "云台", "望江", "柳塘"]
TOWN_STEMS = ["城南", "城北", "河西", "太平", "大坝", "马场", "石桥", "高峰", "黄泥", "茶园", "龙洞", "新场",
              "沙坪", "竹林", "牛角", "花溪", "杨柳", "水口", "落星", "碧江", "鹤鸣", "三合", "五里", "观音"]
VILLAGE_STEMS = ["和平", "团结", "光明", "幸福", "向阳", "红旗", "胜利", "建设", "前进", "民主", "友谊", "新华",
                 "东风", "长青", "联合", "富民", "丰收", "金星", "银杏", "桂花", "荷塘", "柏树", "杉木", "梨园"]

N_CITIES = 4
COUNTIES_PER_CITY = 3
TOWNS_PER_COUNTY = 3
URBAN_VILLAGES_PER_TOWN = 2
RURAL_VILLAGES_PER_TOWN = 4
YEARLY_RAISE = 0.03   # standards rise ~3% at each new year


@dataclass
class Regions:
    codes: list[str]          # every region code (province, cities, counties, towns, villages)
    names: list[str]
    levels: list[str]
    parents: list[str | None]
    village_code: np.ndarray  # (V,) U12
    village_urban: np.ndarray  # (V,) bool
    village_city: np.ndarray  # (V,) int city index
    village_county: np.ndarray  # (V,) U6
    village_town: np.ndarray  # (V,) int global town index
    city_codes: list[str]     # 4-digit
    # standards: (city, year index, urban=1/rural=0) -> cents
    years: list[int]
    dibao_cents: np.ndarray   # (C, Y, 2) int64
    tekun_cents: np.ndarray   # (C, Y, 2)

    def year_index(self, year: int) -> int:
        return self.years.index(year)

    def standards_rows(self) -> list[tuple[str, int, str, int, int]]:
        rows = []
        for c, city in enumerate(self.city_codes):
            for y, year in enumerate(self.years):
                for u, ur in ((1, "urban"), (0, "rural")):
                    rows.append((city, year, ur, int(self.dibao_cents[c, y, u]), int(self.tekun_cents[c, y, u])))
        return rows


def build_regions(seed: int, cal: Calendar) -> Regions:
    rng = stream(seed, "regions")
    codes, names, levels, parents = [], [], [], []
    prov = PROVINCE_CODE + "0" * 10
    codes.append(prov), names.append(PROVINCE_NAME), levels.append("province"), parents.append(None)
    v_code, v_urban, v_city, v_county, v_town = [], [], [], [], []
    county_stems = list(rng.permutation(COUNTY_STEMS))
    town_stems = list(rng.permutation(TOWN_STEMS))
    village_stems = list(rng.permutation(VILLAGE_STEMS))
    city_codes = []
    town_global = 0
    for c in range(N_CITIES):
        city4 = f"{PROVINCE_CODE}{c + 1:02d}"
        city_codes.append(city4)
        city = city4 + "0" * 8
        codes.append(city), names.append(CITY_NAMES[c]), levels.append("city"), parents.append(prov)
        for k in range(COUNTIES_PER_CITY):
            # the first county of each city is an urban district (区), the others counties (县)
            county6 = f"{city4}{2 + k if k == 0 else 20 + k:02d}"
            stem = county_stems[(c * COUNTIES_PER_CITY + k) % len(county_stems)]
            county = county6 + "0" * 6
            codes.append(county), names.append(stem + ("区" if k == 0 else "县")), levels.append("county")
            parents.append(city)
            for w in range(TOWNS_PER_COUNTY):
                town9 = f"{county6}{w + 1:03d}"
                tstem = town_stems[(town_global + k) % len(town_stems)]
                town = town9 + "000"
                codes.append(town), names.append(tstem + ("街道" if w == 0 else "镇")), levels.append("town")
                parents.append(county)
                for u in range(URBAN_VILLAGES_PER_TOWN + RURAL_VILLAGES_PER_TOWN):
                    urban = u < URBAN_VILLAGES_PER_TOWN
                    vnum = (1 + u) if urban else (201 + u - URBAN_VILLAGES_PER_TOWN)
                    code = f"{town9}{vnum:03d}"
                    vstem = village_stems[(town_global * 7 + u) % len(village_stems)]
                    codes.append(code), names.append(vstem + ("社区居委会" if urban else "村委会"))
                    levels.append("village"), parents.append(town)
                    v_code.append(code), v_urban.append(urban), v_city.append(c), v_county.append(county6)
                    v_town.append(town_global)
                town_global += 1

    years = cal.years
    C = len(city_codes)
    dibao = np.zeros((C, len(years), 2), dtype=np.int64)
    tekun = np.zeros((C, len(years), 2), dtype=np.int64)
    for c in range(C):
        urban0 = int(rng.integers(78, 96)) * 10      # 780..950 yuan
        rural0 = int(rng.integers(60, 73)) * 10      # 600..720 yuan
        for y in range(len(years)):
            f = (1 + YEARLY_RAISE) ** y
            for u, base in ((1, urban0), (0, rural0)):
                d = int(round(base * f / 10.0)) * 10
                dibao[c, y, u] = d * 100
                tekun[c, y, u] = int(round(d * 1.3 / 10.0)) * 10 * 100
    return Regions(codes=codes, names=names, levels=levels, parents=parents,
                   village_code=np.array(v_code), village_urban=np.array(v_urban),
                   village_city=np.array(v_city), village_county=np.array(v_county),
                   village_town=np.array(v_town), city_codes=city_codes, years=years,
                   dibao_cents=dibao, tekun_cents=tekun)
