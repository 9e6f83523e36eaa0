/* A guest-side tool for the virtfs suite (busybox has no flock or xattr
 * applets): built static on the host, put into the guest's initramfs.
 *   p9lockx try FILE               F_SETLK write lock, non-blocking: TRY-OK / TRY-BUSY
 *   p9lockx lock FILE RELEASE      write lock (LOCK-OK), held until the file
 *                                  RELEASE exists (at most 600 s), then UNLOCKED
 *   p9lockx xset FILE NAME VALUE   setxattr: XSET-OK / XSET-ERR=errno
 *   p9lockx xget FILE NAME         getxattr: XGET=value / XGET-ERR=errno */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

static int setlk(int fd, short type)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET};
    return fcntl(fd, F_SETLK, &fl);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && (!strcmp(argv[1], "try") || !strcmp(argv[1], "lock"))) {
        int fd = open(argv[2], O_RDWR | O_CREAT, 0644);
        if (fd < 0) {
            printf("OPEN-ERR=%d\n", errno);
            return 1;
        }
        if (setlk(fd, F_WRLCK) < 0) {
            printf("%s-BUSY errno=%d\n", argv[1][0] == 't' ? "TRY" : "LOCK", errno);
            return 0;
        }
        printf("%s-OK\n", argv[1][0] == 't' ? "TRY" : "LOCK");
        fflush(stdout);
        if (argv[1][0] == 'l' && argc >= 4) {
            for (int i = 0; i < 6000 && access(argv[3], F_OK) < 0; i++)
                usleep(100000);
            setlk(fd, F_UNLCK);
            printf("UNLOCKED\n");
        }
        close(fd);
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "xset")) {
        if (setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) < 0)
            printf("XSET-ERR=%d\n", errno);
        else
            printf("XSET-OK\n");
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "xget")) {
        char v[256];
        ssize_t n = getxattr(argv[2], argv[3], v, sizeof(v) - 1);
        if (n < 0) {
            printf("XGET-ERR=%d\n", errno);
        } else {
            v[n] = 0;
            printf("XGET=%s\n", v);
        }
        return 0;
    }
    fprintf(stderr, "usage: p9lockx try|lock|xset|xget ...\n");
    return 2;
}
