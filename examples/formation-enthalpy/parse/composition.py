"""Parse a chemical composition string ("Fe2O3", "Ca(OH)2", "Na0.5Cl0.5") into element fractions.

Plain Python (standard library only): the first step of the formation-enthalpy pipeline, standing in
for pymatgen's Composition in the DLHub paper's example.
"""
import re
from typing import Dict

# Every element symbol, so "Xx2" is refused here with a clear message instead of later as a missing feature.
_SYMBOLS = set("""
H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr
Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb
Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr
Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og
""".split())

_TOKEN = re.compile(r"([A-Z][a-z]?)|(\()|(\))|(\d+(?:\.\d+)?)|(\s+)")
_MAX_LENGTH = 200


def _counts(text: str) -> Dict[str, float]:
    stack = [{}]  # one dict of counts per open parenthesis
    pos = 0
    last = None  # what a following number multiplies: ('el', symbol) or ('group', dict)
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f'cannot parse composition {text!r}: unexpected {text[pos]!r} at position {pos}')
        symbol, open_, close, number, space = m.groups()
        if symbol is not None:
            if symbol not in _SYMBOLS:
                raise ValueError(f'cannot parse composition {text!r}: {symbol!r} at position {pos} is not an element')
            stack[-1][symbol] = stack[-1].get(symbol, 0.0) + 1.0
            last = ('el', symbol)
        elif open_ is not None:
            stack.append({})
            last = None
        elif close is not None:
            if len(stack) == 1:
                raise ValueError(f'cannot parse composition {text!r}: ")" at position {pos} has no matching "("')
            group = stack.pop()
            for el, n in group.items():
                stack[-1][el] = stack[-1].get(el, 0.0) + n
            last = ('group', group)
        elif number is not None:
            value = float(number)
            if last is None or value <= 0:
                raise ValueError(f'cannot parse composition {text!r}: the number {number!r} at position {pos} multiplies nothing')
            if last[0] == 'el':
                stack[-1][last[1]] += value - 1.0
            else:
                for el, n in last[1].items():
                    stack[-1][el] += n * (value - 1.0)
            last = None
        pos = m.end()
        if space is not None:
            last = None
    if len(stack) != 1:
        raise ValueError(f'cannot parse composition {text!r}: a "(" is never closed')
    return stack[0]


def parse_composition(text: str) -> Dict[str, float]:
    """Element -> atomic fraction (fractions sum to 1), e.g. "Fe2O3" -> {"Fe": 0.4, "O": 0.6}."""
    if not isinstance(text, str) or text.strip() == '':
        raise ValueError('the composition is empty: give a formula such as "Fe2O3"')
    if len(text) > _MAX_LENGTH:
        raise ValueError(f'the composition is {len(text)} characters long; at most {_MAX_LENGTH} are accepted')
    counts = _counts(text.strip())
    total = sum(counts.values())
    if total <= 0:
        raise ValueError(f'cannot parse composition {text!r}: it names no element')
    return {el: counts[el] / total for el in sorted(counts)}
