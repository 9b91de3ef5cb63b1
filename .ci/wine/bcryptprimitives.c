/* For running the xtask's Windows build under Wine 8 (Debian 12), which has no
 * bcryptprimitives.dll: Rust's standard library (1.78 and later) takes its random numbers from
 * that DLL's ProcessPrng. This stand-in answers from RtlGenRandom (advapi32), which Wine has.
 * Built with mingw-w64 by .ci/wine.sh into the Wine prefix only; never shipped. */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
    if (!RtlGenRandom(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
