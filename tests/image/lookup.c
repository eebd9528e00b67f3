/*
 * tests/image/lookup.c: image_open() as sdocker_run will call it, for
 * tests/image.bats (which compiles it with the store's sources).
 *
 *   lookup NAME[:TAG]          print what image_open filled in, one field
 *                              a line, then image_free twice (it must be
 *                              safe), exit 0; or its one error line, 125
 *   lookup --hold NAME[:TAG]   the same, then keep the store's shared lock
 *                              until stdin ends (as sdocker_run holds it
 *                              until its record names the image), then
 *                              image_unlock and exit
 */
#include "image.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void list(const char *key, char **v)
{
	if (v == NULL) {
		printf("%s (none)\n", key);
		return;
	}
	for (size_t i = 0; v[i]; i++)
		printf("%s %s\n", key, v[i]);
}

int main(int argc, char **argv)
{
	int hold = argc > 1 && strcmp(argv[1], "--hold") == 0;
	struct image img;
	char c;

	if (argc != 2 + hold) {
		fprintf(stderr, "usage: lookup [--hold] NAME[:TAG]\n");
		return 2;
	}
	if (image_open(argv[1 + hold], &img) < 0)
		return 125;
	printf("ref %s\nid %s\nlocked %s\nlayers %d\n", img.ref, img.id,
	       img.lock_fd >= 0 ? "yes" : "no", img.nlayers);
	for (int i = 0; i < img.nlayers; i++)
		printf("layer %s\n", img.layer_dirs[i]);
	list("env", img.env);
	list("entrypoint", img.entrypoint);
	list("cmd", img.cmd);
	printf("workdir %s\nuser %s\n", img.workdir, img.user);
	fflush(stdout);
	if (hold) {
		while (read(0, &c, 1) > 0)
			;
		image_unlock(&img);
	}
	image_free(&img);
	image_free(&img);
	return 0;
}
