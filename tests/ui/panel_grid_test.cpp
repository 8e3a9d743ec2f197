// The images workspace's panels at one size that fills the space: the arrangement that makes the images
// largest, cells that hold exactly the image and its title, hidden panels giving their place to the others; and
// the learned photo model is the document's default for photographs.
#include "ui/widgets/panel_grid.h"
#include "core/models/registry.h"
#include "ui/state/document.h"
#include "ui/widgets/frame_view.h"

#include <QTest>

using namespace diffuscope;
using namespace diffuscope::ui;

class PanelGridTest : public QObject {
  Q_OBJECT

 private slots:
  void arrangement_data() {
    QTest::addColumn<int>("n");
    QTest::addColumn<double>("aspect");
    QTest::addColumn<int>("width");
    QTest::addColumn<int>("height");
    QTest::addColumn<int>("columns");
    QTest::addColumn<int>("image_width");
    // 4:3 images, no title or margins: a 2 x 2 grid in a square area, one row in a wide strip.
    QTest::newRow("four in a square") << 4 << 4.0 / 3.0 << 800 << 800 << 2 << 400;
    QTest::newRow("four in a strip") << 4 << 4.0 / 3.0 << 1600 << 300 << 4 << 400;
    QTest::newRow("one fills the height") << 1 << 4.0 / 3.0 << 1000 << 300 << 1 << 400;
    QTest::newRow("five: 2 across, 3 down") << 5 << 4.0 / 3.0 << 800 << 900 << 2 << 400;
    QTest::newRow("portrait images side by side") << 2 << 0.5 << 800 << 800 << 2 << 400;
  }

  void arrangement() {
    QFETCH(int, n);
    QFETCH(double, aspect);
    QFETCH(int, width);
    QFETCH(int, height);
    QFETCH(int, columns);
    QFETCH(int, image_width);
    const PanelArrangement a = ArrangePanels(n, aspect, width, height, 0, 0, 0);
    QCOMPARE(a.columns, columns);
    QCOMPARE(a.image_width, image_width);
    QVERIFY(a.columns * a.rows >= n);
    QVERIFY(a.image_height * a.rows <= height);
    QVERIFY(a.image_width * a.columns <= width);
    // Nothing to place, or no room: no panel size (never a negative one).
    QCOMPARE(ArrangePanels(0, aspect, width, height, 0, 0, 0).image_width, 0);
    QCOMPARE(ArrangePanels(n, aspect, 10, 10, 20, 4, 6).image_width, 0);
  }

  void panelsFillTheGridAtOneSize() {
    PanelGrid grid;
    std::vector<FrameView*> views;
    for (int i = 0; i < 4; ++i) {
      views.push_back(new FrameView(QStringLiteral("panel %1").arg(i)));
      grid.addPanel(views.back());
    }
    grid.setAspectRatio(4.0 / 3.0);
    grid.resize(1000, 800);
    grid.show();
    QVERIFY(QTest::qWaitForWindowExposed(&grid));
    const QSize size = views[0]->size();
    QVERIFY(size.width() > 400);  // two across: nearly half the width each
    for (FrameView* view : views) QCOMPARE(view->size(), size);
    // The cells hold the image and its title: the image fills the cell's width.
    const int title = views[0]->fontMetrics().height() + 4;
    QVERIFY(std::abs((size.width() - 8) * 3.0 / 4.0 - (size.height() - title - 4)) <= 1.0);
    // One hidden: the other three stay equal and no smaller.
    views[3]->hide();
    QVERIFY(views[0]->width() >= size.width());
    QCOMPARE(views[1]->size(), views[0]->size());
    QCOMPARE(views[2]->size(), views[0]->size());
    // Only one: it fills the area's height or width.
    views[1]->hide();
    views[2]->hide();
    QVERIFY(views[0]->width() >= 990 || views[0]->height() >= 790);
    // A portrait image: taller, narrower cells.
    grid.setAspectRatio(0.75);
    QVERIFY(views[0]->height() > views[0]->width());
  }

  void learnedPhotoModelIsTheDefault() {
    const Document document;
    if (ShippedModelPath("ddpm-photo")) {
      QCOMPARE(document.model().image_model, QStringLiteral("ddpm-photo"));
    } else {
      QCOMPARE(document.model().image_model, QStringLiteral("oracle"));
    }
    QCOMPARE(ModelChoice{}.image_model, QStringLiteral("ddpm-photo"));
  }
};

QTEST_MAIN(PanelGridTest)
#include "panel_grid_test.moc"
