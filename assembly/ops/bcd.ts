// Decimal adjust and ASCII adjust instructions (DAA DAS AAA AAS AAM AAD), as the SDM's
// "Operation" sections define them.

import { reg8, setReg8, reg16, setReg16 } from "../cpu";
import { readFlags, writeFlags, szpFlags, getCF, getAF, FLAG_CF, FLAG_AF, FLAGS_ARITH } from "../flags";
import { raise, EXC_DE } from "../exceptions";

/** DAA (sub = false) and DAS (sub = true): adjust AL after a packed-BCD add or subtract. */
export function decimalAdjust(sub: bool): void {
  const oldAl = reg8(0);
  const oldCf = getCF();
  let al = oldAl;
  let cf = false;
  let af = false;
  if ((al & 0xf) > 9 || getAF()) {
    cf = oldCf || (sub ? al < 6 : al + 6 > 0xff);
    al = (sub ? al - 6 : al + 6) & 0xff;
    af = true;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (sub ? al - 0x60 : al + 0x60) & 0xff;
    cf = true;
  }
  setReg8(0, al);
  writeFlags(szpFlags(al, 0) | (cf ? FLAG_CF : 0) | (af ? FLAG_AF : 0), FLAGS_ARITH);
}

/** AAA/AAS: OF, SF, ZF, PF are undefined; we compute SF/ZF/PF from AL as a plain result. */
export function aaa(sub: bool): void {
  let ax = reg16(0);
  const adjust = (ax & 0xf) > 9 || getAF();
  if (adjust) {
    if (sub) {
      ax = (ax - 6) & 0xffff;
      ax = (ax - 0x100) & 0xffff;
    } else ax = (ax + 0x106) & 0xffff;
  }
  ax &= 0xff0f;
  setReg16(0, ax);
  writeFlags(szpFlags(ax, 0) | (adjust ? FLAG_CF | FLAG_AF : 0), FLAGS_ARITH);
}

export function aam(base: u32): void {
  if (base == 0) {
    raise(EXC_DE, 0);
    return;
  }
  const al = reg8(0);
  const q = al / base;
  const r = al % base;
  setReg16(0, (q << 8) | r);
  writeFlags(szpFlags(r, 0), FLAGS_ARITH);
}

export function aad(base: u32): void {
  const al = (reg8(0) + reg8(4) * base) & 0xff;
  setReg16(0, al);
  writeFlags(szpFlags(al, 0), FLAGS_ARITH);
}
