#!/usr/bin/env bash
# Regenerate callguard's caller-facing audio prompts.
#
# Needs espeak-ng and sox (Debian/Ubuntu: apt-get install espeak-ng sox).
# Writes 8 kHz, 16-bit signed, mono PCM WAV files into the directory this
# script lives in, whatever the current directory is.
#
# Output is deterministic: sox runs in repeatable mode (-R) without dither
# (-D) and writes a plain 44-byte RIFF/WAVE header with no comment chunk.
set -euo pipefail

OUT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"

VOICE="en-us"       # espeak-ng voice
SPEED=150           # words per minute
RATE=8000           # output sample rate (Hz)
SPEECH_PEAK_DB=-3   # speech peak level (dBFS)
LEAD_S=0.15         # silence before each prompt
TAIL_S=0.25         # silence after each prompt

# Special Information Tones, ANSI T1.401 / Telcordia "intercept" (IC,
# unassigned/vacant number): low-low frequencies, short-short-long durations.
SIT_FREQS=(913.8 1370.6 1776.7)  # Hz
SIT_DURS=(0.274 0.274 0.380)     # s
SIT_GAP_S=0.002    # silence between tones (standard: no more than 4 ms)
SIT_RAMP_S=0.001   # on/off ramp per tone, avoids clicks
# The standard asks for the SIT to be about 2 dB below the announcement.
# -18 dBFS peak (about -21 dBFS RMS) sits roughly 2 dB under the active level
# of the -3 dBFS-peak speech. A full-scale sine would be far louder than the
# speech, so the tones are deliberately NOT normalised to -3 dBFS.
SIT_PEAK_DB=-18
SIT_TO_SPEECH_S=0.2  # silence between last tone and announcement (max 300 ms)

die() { echo "make-prompts.sh: $*" >&2; exit 1; }

for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "'$tool' not found. Install it first, e.g.: sudo apt-get install espeak-ng sox"
done

TMP="$(mktemp -d)"
trap 'rm -rf -- "$TMP"' EXIT

# Common output format: 8 kHz, mono, 16-bit signed PCM.
FMT=(-r "$RATE" -c 1 -b 16 -e signed-integer)

# speak <text> <out.wav>: TTS, trim espeak's own silence, resample, normalise.
# No lead/tail padding; callers add it.
speak() {
  local text="$1" out="$2"
  espeak-ng -v "$VOICE" -s "$SPEED" -w "$TMP/raw.wav" -- "$text"
  sox -R -D "$TMP/raw.wav" "${FMT[@]}" "$out" \
    silence 1 0.01 -50d reverse silence 1 0.01 -50d reverse \
    rate -v "$RATE" \
    norm "$SPEECH_PEAK_DB"
}

# silence <seconds> <out.wav>
silence() {
  sox -R -D -n "${FMT[@]}" "$2" trim 0 "$1"
}

# sit <out.wav>: the three tones with short gaps, no lead/tail padding.
sit() {
  local parts=() i
  for i in 0 1 2; do
    sox -R -D -n "${FMT[@]}" "$TMP/sit$i.wav" \
      synth "${SIT_DURS[$i]}" sine "${SIT_FREQS[$i]}" \
      gain "$SIT_PEAK_DB" \
      fade h "$SIT_RAMP_S" "${SIT_DURS[$i]}" "$SIT_RAMP_S"
    parts+=("$TMP/sit$i.wav")
    if [[ $i -lt 2 ]]; then
      parts+=("$TMP/gap.wav")
    fi
  done
  silence "$SIT_GAP_S" "$TMP/gap.wav"
  sox -R -D "${parts[@]}" "${FMT[@]}" "$1"
}

# finish <out name> <part.wav>...: concatenate, add lead-in and tail.
finish() {
  local name="$1"; shift
  sox -R -D "$@" "${FMT[@]}" "$OUT_DIR/$name" pad "$LEAD_S" "$TAIL_S"
  echo "wrote $OUT_DIR/$name"
}

speak "We're sorry. Calls from your number are not accepted by the person you are calling. Goodbye." "$TMP/not-accepted.wav"
finish callguard-not-accepted.wav "$TMP/not-accepted.wav"

speak "To be connected, please press 1 now." "$TMP/challenge.wav"
finish callguard-challenge.wav "$TMP/challenge.wav"

# Heard by a caller with no caller ID when the action is identify.
speak "Please enter your ten digit phone number, then press pound." "$TMP/identify.wav"
finish callguard-identify.wav "$TMP/identify.wav"

speak "Sorry, we could not connect your call. Goodbye." "$TMP/goodbye.wav"
finish callguard-goodbye.wav "$TMP/goodbye.wav"

# Heard by the extension user who dials the block-last feature code (*32).
speak "The last caller has been blocked." "$TMP/blocked.wav"
finish callguard-blocked.wav "$TMP/blocked.wav"

sit "$TMP/sit.wav"
finish callguard-sit.wav "$TMP/sit.wav"

speak "The number you have dialed is not in service. Please check the number and try again." "$TMP/nis-speech.wav"
silence "$SIT_TO_SPEECH_S" "$TMP/sit-gap.wav"
finish callguard-not-in-service.wav "$TMP/sit.wav" "$TMP/sit-gap.wav" "$TMP/nis-speech.wav"
