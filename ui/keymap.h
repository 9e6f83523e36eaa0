/* Host keys to what the guest's PS/2 keyboard sends. One internal code per
 * key: its scan code set 1 make code, | KEY_E0 for the 0xE0-prefixed keys.
 * The sender picks set 1 or set 2 by what the guest configured (i8042 with
 * translation on, as BIOSes and Linux leave it: set 1; otherwise set 2). */
#ifndef UI_KEYMAP_H
#define UI_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

#define KEY_E0 0x100

struct i8042;

/* X11 keysym (RFB KeyEvent, RFC 6143 §7.5.4) → key code, or -1 when the
 * key has no PC equivalent. Letters and shifted symbols map to the key that
 * produces them on a US layout (the client sends Shift itself). */
int keymap_from_keysym(uint32_t keysym);
/* USB HID usage (SDL_Scancode) → key code, or -1. */
int keymap_from_hid(unsigned usage);
/* Queues the make (down) or break code of a key in the guest's scan code
 * set. Call with the device lock held. */
void keymap_send(struct i8042 *k, int code, bool down);
/* Writes the bytes keymap_send would queue into out[0..5]; returns the
 * count (for tests). set: 1 or 2. */
int keymap_bytes(int code, bool down, int set, uint8_t out[6]);

#endif
