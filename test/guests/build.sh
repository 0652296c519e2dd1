#!/bin/sh
# Builds the multiboot test guests from source into <guest>/<name>.elf (committed), reproducibly.
#
#   build.sh            build every guest
#   build.sh check      rebuild into a scratch directory and compare with the committed binaries
#   build.sh expect     record cpu-bound/expected.txt from the Linux build run under qemu-i386
#   build.sh pvexpect   record pvkernel/expected.txt: pvkernel-native's checksums under qemu-system-i386
#   build.sh cornersexpect  record corners/qemu.txt: what corners.elf prints under qemu-system-i386
#   build.sh verify     run every committed guest (but those needing VMI) under qemu-system-i386: each must
#                       exit 1 (debug-exit code 0), and cpu-bound and pvkernel-native must print the
#                       expected checksum
#
# Toolchain: Debian bookworm gcc 12 (-m32), nasm 2.16, binutils 2.40. The binaries depend only on
# the sources and these tools: no timestamps, no build-id, no absolute paths (compiled from this
# directory with relative names, no debug info).
set -eu
cd "$(dirname "$0")"
export LC_ALL=C SOURCE_DATE_EPOCH=0

GUESTS="demo cpu-bound cpu-bound-quick paging exceptions tasks v86 timer apic uart smc corners vmicalls pvkernel-native pvkernel-vmi pvkernel-batched vmibench"
# Guests that need our VMI ROM, which QEMU does not offer: `verify` skips them.
NEEDS_VMI="vmicalls pvkernel-vmi pvkernel-batched vmibench"
# pvkernel scales whose checksums pvkernel/expected.txt records (the test and the default).
PV_SCALES="4 20"
CC=${CC:-gcc}
NASM=${NASM:-nasm}
LD=${LD:-ld}
CFLAGS="-m32 -march=i686 -ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector -O2 \
 -fno-asynchronous-unwind-tables -fno-ident -ffile-prefix-map=$(pwd)=. -Wall -Wextra -Ilib"
LDFLAGS="-m elf_i386 -T lib/linker.ld --build-id=none -z noexecstack -z max-page-size=0x1000 -nostdlib"

# The Linux batching workload (linux-mm/mm.c): a static i386 Linux program, not a multiboot
# guest. Freestanding (raw system calls, its own _start), so no C library sets the oldest kernel
# it runs on: it runs on the 2.6.32 CONFIG_VMI kernel.
LINUX_CFLAGS="-m32 -march=i686 -static -O2 -nostdlib -ffreestanding -fno-pic -fno-pie -no-pie -fno-stack-protector \
 -fno-asynchronous-unwind-tables -fno-ident -ffile-prefix-map=$(pwd)=. -Wall -Wextra -Wl,--build-id=none"
build_linux_mm() { # outdir
  mkdir -p "$1/linux-mm"
  $CC $LINUX_CFLAGS -o "$1/linux-mm/mm" linux-mm/mm.c
}
# The vm86() system-call program (linux-vm86/vm86.c and its real-mode snippets), the same way.
build_linux_vm86() { # outdir objdir
  mkdir -p "$1/linux-vm86" "$2"
  $NASM -f elf32 -o "$2/vm86-snippets.o" linux-vm86/snippets.asm
  $CC $LINUX_CFLAGS -o "$1/linux-vm86/vm86" linux-vm86/vm86.c "$2/vm86-snippets.o"
}

# Sources (and extra flags) of each guest, relative to this directory.
sources() {
  case $1 in
    cpu-bound) echo "cpu-bound/main.c cpu-bound/workload.c" ;;
    cpu-bound-quick) echo "cpu-bound/main.c cpu-bound/workload.c" ;;
    pvkernel-*) echo "pvkernel/kernel.c pvkernel/user.c pvkernel/pv.asm" ;;
    *) ls "$1"/*.c "$1"/*.asm 2>/dev/null | sort ;;
  esac
}
extra_cflags() {
  case $1 in
    cpu-bound) echo "-DITERATIONS=WORKLOAD_FULL -Icpu-bound" ;;
    cpu-bound-quick) echo "-DITERATIONS=WORKLOAD_QUICK -Icpu-bound" ;;
    pvkernel-native) echo "-DMODE_NATIVE" ;;
    pvkernel-vmi) echo "-DMODE_VMI" ;;
    pvkernel-batched) echo "-DMODE_BATCHED" ;;
    *) echo "" ;;
  esac
}
output() {
  case $1 in
    cpu-bound-quick) echo "cpu-bound/cpu-bound-quick.elf" ;;
    pvkernel-*) echo "pvkernel/$1.elf" ;;
    *) echo "$1/$1.elf" ;;
  esac
}

build_one() { # guest outdir objdir
  g=$1 out=$2 obj=$3/$1
  mkdir -p "$obj" "$(dirname "$out/$(output "$g")")"
  objs=""
  for src in lib/entry.asm lib/rt.c $(sources "$g"); do
    o="$obj/$(echo "$src" | tr / _).o"
    case $src in
      *.asm) $NASM -f elf32 -Ilib/ -o "$o" "$src" ;;
      *.c) $CC $CFLAGS $(extra_cflags "$g") -c -o "$o" "$src" ;;
    esac
    objs="$objs $o"
  done
  $LD $LDFLAGS -o "$out/$(output "$g")" $objs
}

build_all() { # outdir objdir [guests]
  out=$1 objdir=$2
  shift 2
  for g in ${@:-$GUESTS}; do build_one "$g" "$out" "$objdir"; done
}

# Timing guests run with virtual time driven by the instruction count, as in our --deterministic
# mode: under real time a busy host delays QEMU's timer callbacks by whole PIT periods.
qemu_timing() {
  case $1 in timer | apic) echo "-icount shift=5,sleep=off" ;; esac
}

qemu_run() { # elf [qemu args...]: runs a guest under the oracle, its COM1 on stdout
  f=$1
  shift
  timeout 600 qemu-system-i386 -kernel "$f" -m 64 -display none -monitor none -serial stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot "$@"
}

# What the guest reads from COM1 under QEMU: the uart guest echoes one line.
feed_input() {
  if [ "$1" = uart ]; then sleep 2; printf 'hello, uart\r'; sleep 2; fi
}

cmd=${1:-build}
case $cmd in
  build)
    shift $(($# > 0 ? 1 : 0))
    build_all . .build "$@"
    for g in ${@:-$GUESTS}; do echo "built $(output "$g")"; done
    if [ $# -eq 0 ]; then
      build_linux_mm . && echo "built linux-mm/mm"
      build_linux_vm86 . .build && echo "built linux-vm86/vm86"
    fi
    ;;
  check)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    build_all "$tmp" "$tmp/obj"
    build_linux_mm "$tmp"
    build_linux_vm86 "$tmp" "$tmp/obj"
    status=0
    for f in $(for g in $GUESTS; do output "$g"; done) linux-mm/mm linux-vm86/vm86; do
      if cmp -s "$f" "$tmp/$f"; then echo "same: $f"; else echo "DIFFERS: $f"; status=1; fi
    done
    exit $status
    ;;
  expect)
    mkdir -p .build
    $CC -m32 -static -O2 -Icpu-bound -o .build/cpu-bound-linux cpu-bound/linux.c cpu-bound/workload.c
    quick=$(sed -n 's/^#define WORKLOAD_QUICK \([0-9]*\)$/\1/p' cpu-bound/workload.h)
    full=$(sed -n 's/^#define WORKLOAD_FULL \([0-9]*\)$/\1/p' cpu-bound/workload.h)
    {
      echo "# cpu-bound checksums: cpu-bound/linux.c + workload.c, gcc -m32 -static, run under"
      echo "# $(qemu-i386 --version | head -n 1). Regenerate: npm run guests:expect"
      qemu-i386 .build/cpu-bound-linux "$quick"
      qemu-i386 .build/cpu-bound-linux "$full"
    } >cpu-bound/expected.txt.tmp
    mv cpu-bound/expected.txt.tmp cpu-bound/expected.txt
    cat cpu-bound/expected.txt
    ;;
  pvexpect)
    {
      echo "# pvkernel checksums: pvkernel-native.elf with scale=N on the command line, run under"
      echo "# $(qemu-system-i386 --version | head -n 1). Regenerate: sh test/guests/build.sh pvexpect"
      for n in $PV_SCALES; do
        echo "scale=$n $(qemu_run pvkernel/pvkernel-native.elf -append "scale=$n" | tr -d '\r' | grep '^checksum ')"
      done
    } >pvkernel/expected.txt.tmp
    mv pvkernel/expected.txt.tmp pvkernel/expected.txt
    cat pvkernel/expected.txt
    ;;
  cornersexpect)
    {
      echo "# corners.elf on COM1 under $(qemu-system-i386 --version | head -n 1)."
      echo "# Regenerate: sh test/guests/build.sh cornersexpect"
      qemu_run corners/corners.elf | tr -d '\r'
    } >corners/qemu.txt.tmp
    mv corners/qemu.txt.tmp corners/qemu.txt
    cat corners/qemu.txt
    ;;
  verify)
    shift
    status=0
    for g in ${@:-$GUESTS}; do
      case " $NEEDS_VMI " in *" $g "*) echo "$g: needs the VMI ROM, not run under QEMU"; continue ;; esac
      f=$(output "$g")
      log=.build/qemu-$g.log
      mkdir -p .build
      set +e
      feed_input "$g" |
        qemu_run "$f" $(qemu_timing "$g") >"$log" 2>&1
      rc=$?
      set -e
      ok=yes
      [ $rc -eq 1 ] || ok=no
      [ "$(tr -d '\r' <"$log" | tail -n 1)" = PASS ] || ok=no
      case $g in
        cpu-bound*)
          line=$(grep '^cpu-bound: iterations=' "$log" | tr -d '\r' || true)
          grep -qxF "$line" cpu-bound/expected.txt || ok=no
          ;;
        pvkernel-native)
          line="scale=20 $(grep '^checksum ' "$log" | tr -d '\r' || true)"
          grep -qxF "$line" pvkernel/expected.txt || ok=no
          ;;
      esac
      echo "$g: exit $rc, $ok ($(tr -d '\r' <"$log" | tail -n 1))"
      [ $ok = yes ] || status=1
    done
    exit $status
    ;;
  *)
    echo "usage: build.sh [build [guest...]|check|expect|pvexpect|cornersexpect|verify [guest...]]" >&2
    exit 2
    ;;
esac
