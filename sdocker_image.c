/*
 * sdocker_image: the image store's command line.
 *
 *   sdocker_image [OPTIONS] import SOURCE NAME[:TAG]
 *   sdocker_image [OPTIONS] ls
 *   sdocker_image [OPTIONS] rm NAME[:TAG]...
 *   sdocker_image [OPTIONS] inspect NAME[:TAG]
 *
 * This file holds the options, the dispatch and the output of ls and
 * inspect; the store is image.c's.  Every command first sweeps what killed
 * imports left (image_sweep), as every sdocker_run sweeps dead containers.
 * Errors follow sdocker_run: one line, exit 125; usage goes to stdout only
 * for --help.
 */
#include "image.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "sdocker_image"

static void usage(FILE *out)
{
	fputs("Usage: " PROG " [OPTIONS] import SOURCE NAME[:TAG]\n"
	      "       " PROG " [OPTIONS] ls\n"
	      "       " PROG " [OPTIONS] rm NAME[:TAG]...\n"
	      "       " PROG " [OPTIONS] inspect NAME[:TAG]\n"
	      "\n"
	      "Keep container images in a local store, offline, for sdocker_run.\n"
	      "\n"
	      "Commands:\n"
	      "  import SOURCE NAME[:TAG]   import the image in SOURCE, a file or\n"
	      "                             directory: a root filesystem tarball (plain,\n"
	      "                             gzip, xz, zstd, bzip2), a docker save archive,\n"
	      "                             or an OCI image layout (directory or tar);\n"
	      "                             SOURCE:REF picks one of several images\n"
	      "  ls                         list the images\n"
	      "  rm NAME[:TAG]...           remove images, and the layers no other\n"
	      "                             image uses\n"
	      "  inspect NAME[:TAG]         show an image's config and its layers: what\n"
	      "                             each one adds, deletes and hides\n"
	      "TAG defaults to latest.  NAME: 1..64 of a-z 0-9 . _ -\n"
	      "\n"
	      "Options:\n"
	      "  -v, --verbose              trace each step as the kernel sees it\n"
	      "  -h, --help                 show this help and exit\n"
	      "  -V, --version              show the version and exit\n"
	      "\n"
	      "The store is " SDOCKER_LIB_DIR " ($SDOCKER_LIB_DIR for tests).\n"
	      "Exit status: 0, or 125 on any error.  See sdocker_image(1).\n",
	      out);
}

static const struct option longopts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Options may come before the command or among its arguments; "--" ends
 * them (for a SOURCE that starts with '-'). */
static void parse_options(int argc, char **argv, int permute)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, permute ? ":vhV" : "+:vhV", longopts, NULL)) != -1)
		common_option(c, argv, longopts, PROG, usage);	/* it has no option of its own */
}

static void need_root(const char *cmd)
{
	if (geteuid() != 0)
		errx(EXIT_SDOCKER, "%s must be run as root (it writes the image store, and layers hold files "
		    "owned by any user, device nodes and whiteouts)", cmd);
}

static void print_strings(const char *label, char **v)
{
	printf("%-12s", label);
	if (v == NULL) {
		printf("(not set)\n");
		return;
	}
	putchar('[');
	for (size_t i = 0; v[i]; i++) {
		printf("%s\"", i ? ", " : "");
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				printf("\\%c", *p);
			else if ((unsigned char)*p < ' ')
				printf("\\u%04x", (unsigned char)*p);
			else
				putchar(*p);
		}
		putchar('"');
	}
	printf("]\n");
}

static int cmd_inspect(const char *ref)
{
	struct image_info info;
	struct image *img = &info.img;
	char size[32];

	if (image_describe(ref, &info) < 0)
		return -1;
	printf("%-12s%s\n", "Name:", img->ref);
	printf("%-12s%s\n", "Id:", img->id);
	printf("%-12s%s\n", "Created:", info.created[0] ? info.created : "(not set)");
	printf("%-12s%s\n", "Platform:", info.platform);
	printf("%-12s%s from %s (%s)\n", "Imported:", info.imported, info.source, info.format);
	printf("%-12s", "Env:");
	if (img->env == NULL || img->env[0] == NULL)
		printf("(not set)\n");
	for (size_t i = 0; img->env && img->env[i]; i++)
		printf("%s%s\n", i ? "            " : "", img->env[i]);
	print_strings("Entrypoint:", img->entrypoint);
	print_strings("Cmd:", img->cmd);
	printf("%-12s%s\n", "WorkingDir:", img->workdir[0] ? img->workdir : "(not set)");
	printf("%-12s%s\n", "User:", img->user[0] ? img->user : "(not set)");
	image_format_size(info.size, size, sizeof size);
	printf("%-12s%s in %d layer%s\n", "Size:", size, img->nlayers, img->nlayers == 1 ? "" : "s");
	printf("Layers, bottom first (each one an overlayfs lower directory):\n");
	for (int i = 0; i < img->nlayers; i++) {
		const struct layer_info *l = &info.layers[i];

		image_format_size(l->size, size, sizeof size);
		printf("  %d  %.19s  %9s  %lu file%s, %lu director%s", i + 1, l->diff_id, size, l->files,
		       l->files == 1 ? "" : "s", l->dirs, l->dirs == 1 ? "y" : "ies");
		if (l->nremoved)
			printf("; deletes %zu", l->nremoved);
		if (l->nopaque)
			printf("; %zu opaque director%s", l->nopaque, l->nopaque == 1 ? "y" : "ies");
		putchar('\n');
		for (size_t k = 0; k < l->nremoved; k++)
			printf("       deletes %s%s   (whiteout)\n", l->removed[k][0] == '/' ? "" : "/",
			       l->removed[k]);
		for (size_t k = 0; k < l->nopaque; k++)
			printf("       opaque  %s%s   (hides what the layers below put there)\n",
			       l->opaque[k][0] == '/' ? "" : "/", l->opaque[k]);
		if (l->created_by)
			printf("       made by %s\n", l->created_by);
	}
	image_info_free(&info);
	return 0;
}

static int cmd_ls(void)
{
	struct image_info *list;
	size_t n;
	int wname = 4, wtag = 3;

	if (image_list(&list, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *ref = list[i].img.ref;
		int nl = (int)strcspn(ref, ":"), tl = (int)strlen(ref) - nl - 1;

		if (nl > wname)
			wname = nl;
		if (tl > wtag)
			wtag = tl;
	}
	printf("%-*s  %-*s  %-12s  %-20s  %6s  %s\n", wname, "NAME", wtag, "TAG", "ID", "CREATED",
	       "LAYERS", "SIZE");
	for (size_t i = 0; i < n; i++) {
		const struct image_info *in = &list[i];
		const char *ref = in->img.ref;
		int nl = (int)strcspn(ref, ":");
		char size[32];

		image_format_size(in->size, size, sizeof size);
		printf("%-*.*s  %-*s  %-12.12s  %-20.19s  %6d  %s\n", wname, nl, ref, wtag, ref + nl + 1,
		       in->img.id + 7, in->created, in->img.nlayers, size);
	}
	for (size_t i = 0; i < n; i++)
		image_info_free(&list[i]);
	free(list);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int rc;

	parse_options(argc, argv, 0);
	if (optind >= argc)
		bad_usage("missing command (import, ls, rm or inspect)");
	cmd = argv[optind];
	/* The command's own arguments, options among them. */
	argv += optind;
	argc -= optind;
	optind = 1;
	parse_options(argc, argv, 1);
	argv += optind;
	argc -= optind;

	if (strcmp(cmd, "import") == 0) {
		if (argc != 2)
			bad_usage("import takes SOURCE and NAME[:TAG]%s",
				  argc < 2 ? "" : "; too many arguments");
		{
			char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1];
			const char *why;

			/* Checked before anything is touched. */
			if (image_parse_ref(argv[1], name, tag, &why) < 0)
				bad_usage("'%.80s': not an image name: %s", argv[1], why);
		}
		need_root("import");
		image_sweep();
		rc = image_import(argv[0], argv[1], 0);
	} else if (strcmp(cmd, "ls") == 0) {
		if (argc != 0)
			bad_usage("ls takes no arguments");
		if (geteuid() == 0)
			image_sweep();
		rc = cmd_ls();
	} else if (strcmp(cmd, "rm") == 0) {
		if (argc == 0)
			bad_usage("rm takes NAME[:TAG]...");
		for (int i = 0; i < argc; i++) {
			char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1];
			const char *why;

			if (image_parse_ref(argv[i], name, tag, &why) < 0)
				bad_usage("'%.80s': not an image name: %s", argv[i], why);
		}
		need_root("rm");
		image_sweep();
		rc = 0;
		for (int i = 0; i < argc; i++) {
			if (image_remove(argv[i], 0) < 0)
				rc = -1;
		}
	} else if (strcmp(cmd, "inspect") == 0) {
		if (argc != 1)
			bad_usage("inspect takes one NAME[:TAG]");
		{
			char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1];
			const char *why;

			if (image_parse_ref(argv[0], name, tag, &why) < 0)
				bad_usage("'%.80s': not an image name: %s", argv[0], why);
		}
		if (geteuid() == 0)
			image_sweep();
		rc = cmd_inspect(argv[0]);
	} else {
		bad_usage("unknown command '%.40s' (import, ls, rm or inspect)", cmd);
	}
	if (fflush(stdout) != 0)
		rc = -1;
	return rc < 0 ? EXIT_SDOCKER : 0;
}
