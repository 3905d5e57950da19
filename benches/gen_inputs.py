#!/usr/bin/env python3
"""Writes the inputs of benches/perf.sh into the directory given (default: target/perf-inputs).

Each shape is one the issue names: a normal printed job log, adversarial pastes (paths only,
ids only, one huge line, many page headers, deeply quoted or fenced text, thousands of
distinct codes, a `find` listing) and a 50 MB paste.
"""
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "target/perf-inputs"
os.makedirs(out, exist_ok=True)

BLOCK = """5770SS1 V7R4M0 190621                     Display Job Log                       SYS01     11/24/26 14:02:11 CET  Page    1
 Job name . . . . . . . . . . :   INVCOPY         User  . . . . . . :   INVOICES     Number . . . . . . . . . . . :   123456
MSGID      TYPE                    SEV  DATE      TIME             FROM PGM     LIBRARY     INST     TO PGM      LIBRARY     INST
CPI1125    Information             00   11/24/26  14:02:11.123456  QWTPIIPP     QSYS        0595     *EXT                    *N
                                     Message . . . . :   Job 123456/INVOICES/INVCOPY submitted.
CPF9898    Information             40   11/24/26  14:02:11.223456  QCMD         QSYS        0100     INVCPY      APPLIB      *STMT
                                     Message . . . . :   Copying invoice batch 2211 of 9000.
"""
CPDB053 = """CPDB053    Diagnostic              30   11/24/26  14:02:12.000001  QZLCSRV      QSYS        *STMT    QZLCSRV     QSYS        *STMT
                                     Message . . . . :   Error exchanging security information for user INVOICES on network server FILESRV01.
                                     Cause . . . . . :   The error class was 0, and the error code was 3401.
"""


def job_log(size):
    """The printed job log of benches/engine.rs: informational noise, one CPDB053 midway."""
    n = max(1, (size // 2) // len(BLOCK))
    s = BLOCK * n + CPDB053
    return s + BLOCK * max(1, (size - len(s)) // len(BLOCK) + 1)


def grow(size, unit):
    parts, total, i = [], 0, 0
    while total < size:
        p = unit(i)
        parts.append(p)
        total += len(p)
        i += 1
    return "".join(parts)


IDS = ["CPF", "CPD", "CPE", "CPA", "MCH", "SQL", "CPI", "TCP"]
MB = 1 << 20
shapes = {
    "chat.txt": "CPDB053 error code 3401 after upgrading to 7.4\n",
    "joblog-0.5mb.txt": job_log(MB // 2),
    "joblog-10mb.txt": job_log(10 * MB),
    "paste-50mb.txt": job_log(50 * MB),
    "paths-only-0.5mb.txt": "/a\n" * 174_762,
    "find-listing-1mb.txt": grow(MB, lambda i: f"/QNTC/NAS01/share/d{i // 100}/s{i // 10}/file{i}.txt\n"),
    "ids-65k-512kb.txt": grow(MB // 2, lambda i: f"{IDS[i % 8]}{(i // 8) % 0x10000:04X}\n")[: MB // 2],
    "one-huge-line-1mb.txt": grow(MB, lambda i: f"CPDB053 error code 3401 on /QNTC/NAS{i}/share x. user{i} said V7R4M0 "),
    "page-headers-1mb.txt": grow(
        MB,
        lambda i: f" 5770SS1 V7R4M0 190621   Display Job Log   SYS{i:05}   11/24/26 14:02:11 CET  Page {i}\n"
        f"  Job name . . . . :   JOB{i:06}   User  . . . . :   U{i:05}   Number . . . . :   {i % 1000000:06}\n",
    ),
    "quoted-fenced-1mb.txt": grow(MB, lambda i: f"> > > ```text\n> > > CPFA0A9 /QNTC/a{i} `x`\n> > > ```\n"),
    "deep-quote-1mb.txt": "> " * (MB // 2) + "CPDB053 error code 3401\n",
    "distinct-codes-1mb.txt": grow(
        MB, lambda i: f"error code {i % 100000} STATUS_{''.join(chr(65 + int(c, 16) % 26) for c in f'{i:x}')}_X rc={i % 99999}\n"
    ),
}
for name, text in shapes.items():
    with open(os.path.join(out, name), "w") as f:
        f.write(text)
print(out)
